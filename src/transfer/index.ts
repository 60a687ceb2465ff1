export * from './transport.js';
export * from './naming.js';
export * from './upload.js';
export * from './nitro-transport.js';
export * from './sftp.js';
