import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '#shared/notify/sns-notifier.ts';

const sns = mockClient(SNSClient);

describe('SnsNotifier', () => {
  beforeEach(() => sns.reset());

  it('publishes subject, text and attributes to the topic and returns the message id', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsNotifier(new SNSClient({}), 'arn:aws:sns:eu-west-1:1:t');

    const out = await notifier.publish({
      subject: 's',
      text: 't',
      attributes: { event: 'failover.switched' },
    });

    expect(out).toEqual({ messageId: 'm-1' });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: 'arn:aws:sns:eu-west-1:1:t',
      Subject: 's',
      Message: 't',
      MessageAttributes: { event: { DataType: 'String', StringValue: 'failover.switched' } },
    });
  });

  it('maps an SNS failure to the product error naming the topic', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('x'), { name: 'AuthorizationErrorException' }));

    await expect(
      new SnsNotifier(new SNSClient({}), 'arn:t').publish({ subject: 's', text: 't', attributes: {} }),
    ).rejects.toThrow('AWS call on SNS topic arn:t failed: AuthorizationErrorException');
  });
});
