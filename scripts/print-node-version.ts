// Printed first by `npm test` so a log shows which Node the tests really ran on (Lambda runs nodejs24.x).
const major = Number(process.versions.node.split('.')[0]);
console.log(`node --version (as seen by the tests): ${process.version}`);
if (major !== 24) {
  console.error(
    `expected Node 24 (the Lambda runtime nodejs24.x), got ${process.version}; run through npm scripts`,
  );
  process.exit(1);
}
