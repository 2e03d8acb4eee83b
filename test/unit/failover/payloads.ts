/** Trigger payloads shared by the unit and integration tests of the failover. */

export const alarmEvent = {
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2026-11-21T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-dr-failover'],
  detail: {
    alarmName: 'orders-dr-failover',
    state: { value: 'ALARM', reason: 'PrimaryDown in ALARM', timestamp: '2026-11-21T12:00:00.000+0000' },
    previousState: { value: 'OK', reason: 'fine', timestamp: '2026-11-21T11:00:00.000+0000' },
    configuration: { alarmRule: 'ALARM(PrimaryDown) AND NOT ALARM(SecondaryDown)' },
  },
};

/** Payloads a person or a broken rule could send, each with the problems (by path) it must be refused for. */
export const malformedPayloads: Array<{ name: string; payload: unknown; paths: string[] }> = [
  { name: 'null', payload: null, paths: [''] },
  { name: 'a string', payload: 'failover', paths: [''] },
  { name: 'a number', payload: 42, paths: [''] },
  { name: 'an array', payload: [{ action: 'failover' }], paths: [''] },
  { name: 'an empty object', payload: {}, paths: ['action', 'reason', 'requestedBy'] },
  {
    name: 'a wrong action',
    payload: { action: 'failback', reason: 'test it', requestedBy: 'ops' },
    paths: ['action'],
  },
  { name: 'no reason', payload: { action: 'failover', requestedBy: 'ops' }, paths: ['reason'] },
  {
    name: 'a blank reason',
    payload: { action: 'failover', reason: '   ', requestedBy: 'ops' },
    paths: ['reason'],
  },
  {
    name: 'a reason too long',
    payload: { action: 'failover', reason: 'x'.repeat(501), requestedBy: 'ops' },
    paths: ['reason'],
  },
  { name: 'no requester', payload: { action: 'failover', reason: 'primary gone' }, paths: ['requestedBy'] },
  {
    name: 'an empty requester',
    payload: { action: 'failover', reason: 'primary gone', requestedBy: '' },
    paths: ['requestedBy'],
  },
  {
    name: 'a requester with a newline',
    payload: { action: 'failover', reason: 'primary gone', requestedBy: 'ops\nrm' },
    paths: ['requestedBy'],
  },
  {
    name: 'dryRun as a string',
    payload: { action: 'failover', reason: 'primary gone', requestedBy: 'ops', dryRun: 'true' },
    paths: ['dryRun'],
  },
  {
    name: 'force as a number',
    payload: { action: 'failover', reason: 'primary gone', requestedBy: 'ops', force: 1 },
    paths: ['force'],
  },
  {
    name: 'a misspelt flag',
    payload: { action: 'failover', reason: 'primary gone', requestedBy: 'ops', forced: true },
    paths: [''],
  },
  {
    name: 'reason as an object',
    payload: { action: 'failover', reason: { text: 'x' }, requestedBy: 'ops' },
    paths: ['reason'],
  },
  {
    name: 'everything wrong at once',
    payload: { action: 1, reason: 2, requestedBy: 3, dryRun: 4, force: 5 },
    paths: ['action', 'reason', 'requestedBy', 'dryRun', 'force'],
  },
  {
    name: 'an alarm going to OK',
    payload: {
      ...alarmEvent,
      detail: { ...alarmEvent.detail, state: { ...alarmEvent.detail.state, value: 'OK' } },
    },
    paths: ['detail.state.value'],
  },
  { name: 'an alarm without detail', payload: { ...alarmEvent, detail: undefined }, paths: ['detail'] },
  {
    name: 'an alarm without a name',
    payload: { ...alarmEvent, detail: { ...alarmEvent.detail, alarmName: '' } },
    paths: ['detail.alarmName'],
  },
  { name: 'another source', payload: { ...alarmEvent, source: 'aws.ec2' }, paths: ['source'] },
  {
    name: 'another detail-type',
    payload: { ...alarmEvent, 'detail-type': 'EC2 Instance State-change Notification' },
    paths: ['detail-type'],
  },
  { name: 'an alarm with a bad time', payload: { ...alarmEvent, time: 'yesterday' }, paths: ['time'] },
  {
    name: 'an alarm missing its id and state',
    payload: { ...alarmEvent, id: undefined, detail: { alarmName: 'a' } },
    paths: ['id', 'detail.state'],
  },
];
