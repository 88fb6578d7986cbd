/** The session armor (layer 2): handshake, sealed frames, rekey. Wiring only. */
export { ARMOR_EXPORTER_LABEL, ARMOR_VERSION, MessageType as ArmorMessageType } from './constants.js';
export { ArmorHandshake } from './handshake.js';
export { ArmorSession } from './session.js';

export type { ArmorHandshakeOptions, ArmorHandshakeState, ArmorHandshakeStep, ArmorRole } from './handshake.js';
export type { ArmorSessionIdentity, RekeyPolicy } from './session.js';
