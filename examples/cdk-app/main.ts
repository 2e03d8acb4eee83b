// `node examples/cdk-app/main.ts` (or `npx cdk synth --app 'node examples/cdk-app/main.ts'`): the example app,
// with no cdk.json of its own.
import { App } from 'aws-cdk-lib';
import { OrdersPlatformStack } from './orders-platform-stack.ts';

const app = new App();
new OrdersPlatformStack(app, 'OrdersPlatform');
app.synth();
