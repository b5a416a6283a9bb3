// Interfaces mounted beside the REST API: the web interface and WebDAV.
import type { FastifyInstance } from 'fastify';
import type { Vault } from '../main.js';

export const serverExtensions: ((app: FastifyInstance, vault: Vault) => Promise<void>)[] = [];
