// The desktop and browser interface's way into a daemon: static files, its WebSocket, content uploads.
export { AppGateway, isSameOrigin, APP_CLOSE_UNAUTHORIZED, APP_CLOSE_BAD_REQUEST, type AppGatewayOptions } from './app-gateway.js';
export { APP_SOCKET_PATH, APP_CONTENT_PATH, AppRequest, type AppEvent, type AppNodeInfo, type NodeUsage, type EarningsTotal, type PocketBaseAccess } from './app-messages.js';
export { defaultInterfaceDir, interfaceFileOf } from './interface-files.js';
