/**
 * What a sender is told about a message the peer acknowledged. A module of its own so the HTTP
 * layer can name it without depending on the Outbox that produces it.
 */
export interface Delivery {
  id: string;
  seq: number;
  /** True when the message had to be sent again on a later connection. */
  redelivered: boolean;
}
