/**
 * One request per leader broker, sent in parallel, where a broker that cannot be reached costs only its own
 * partitions. With three brokers and one dead, the two live leaders' answers are kept and the dead leader's
 * partitions come back through `unreachable` (so a cluster that still serves most partitions is not reported as
 * serving none). Only when every leader failed does it throw, with the first error: then the cluster, or this
 * client's connection to it, is the problem, and the caller treats it as a connection-level failure.
 */
export async function sendPerLeader<T, R>(
  groups: ReadonlyMap<number, readonly T[]>,
  send: (nodeId: number, items: readonly T[]) => Promise<R[]>,
  unreachable: (item: T, nodeId: number, error: unknown) => R,
): Promise<R[]> {
  const leaders = [...groups];
  const settled = await Promise.allSettled(leaders.map(([nodeId, items]) => send(nodeId, items)));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (leaders.length > 0 && failures.length === leaders.length) throw failures[0];
  return settled.flatMap((s, i) => {
    if (s.status === 'fulfilled') return s.value;
    const [nodeId, items] = leaders[i] ?? [-1, []];
    return items.map((item) => unreachable(item, nodeId, s.reason));
  });
}
