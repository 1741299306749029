export { readEventsTail } from './events-file.ts';
export { StatusPage, type StatusPageOptions, statusPageFor } from './handler.ts';
export * from './model.ts';
