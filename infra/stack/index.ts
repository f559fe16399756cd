// The local stack: `tl stack up | down | status`, the only place that knows how servers start.
export { stackDown, stackStatus, stackUp, stopService } from './lifecycle';
export { endpoints, type Endpoints, type ServiceStatus, type StackLog, type StackStatus } from './layout';
export { stackTemporalOptions } from './services';
