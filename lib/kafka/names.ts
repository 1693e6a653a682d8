import type { KafkaConfig } from '../config/index.ts';

type Namespace = KafkaConfig['namespace'];

/** The name a topic or consumer group has on the cluster: `<namespace>.<name>`, or the name itself. */
export const namespaced = (name: string, namespace: Namespace): string => (namespace === null ? name : `${namespace}.${name}`);
