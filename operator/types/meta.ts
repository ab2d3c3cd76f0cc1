// Object metadata as it is on the wire (JSON), for the objects we generate. (client-node's
// V1ObjectMeta models times as Date, which is not what a builder produces or a cache holds.)
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}
