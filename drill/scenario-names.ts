/** The drill's scenarios by name: the CLI lists and checks them without loading the drill and the harness. */
export const scenarios = ['kill', 'hang', 'mm2-down', 'secondary-down', 'flapping'] as const;
export type Scenario = (typeof scenarios)[number];
