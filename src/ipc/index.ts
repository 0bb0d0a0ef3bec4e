/** Public surface of the ipc part: pkt-line codec, Unix-socket server and client. */

export {
  listenerOf,
  type RequestOptions,
  type SocketState,
  sendRequest,
  socketState,
} from './client.js';
export {
  IpcClientError,
  type IpcClientErrorCode,
  SocketInUseError,
  SocketPathError,
} from './errors.js';
export { unlinkIfSame } from './lock.js';
export { type PeerCredentials, peerCredentials } from './peer.js';
export {
  encodeMessage,
  FLUSH,
  MAX_PACKET,
  MAX_PAYLOAD,
  PktLineDecoder,
  type PktLineDecoderOptions,
  PktLineError,
  type PktLineErrorCode,
} from './pktline.js';
export {
  type IpcServer,
  type LogLevel,
  type Reply,
  type ServerOptions,
  startServer,
} from './server.js';
export { SUN_PATH_MAX, withSocketAddress } from './socket-path.js';
