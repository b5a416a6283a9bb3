// Interfaces mounted beside the REST API: the web interface and WebDAV.
import type { FastifyInstance } from 'fastify';
import type { Vault } from '../main.js';
import { webdavExtension } from '../webdav/plugin.js';
import { webInterface } from './ui/plugin.js';

export const serverExtensions: ((app: FastifyInstance, vault: Vault) => Promise<void>)[] = [
  webdavExtension,
  webInterface,
];
