// Request bodies of the XML methods (PROPFIND, PROPPATCH, LOCK, and MKCOL's refused one): read up to
// MAX_XML_BYTES, refuse more with 413 without storing a prefix, and stop reading at a hard cap.
// PUT bodies are not read here: they stream straight into the upload pipeline.
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DavError } from './errors.js';
import { MAX_XML_BYTES, parseXml, type XmlElement } from './xml.js';

/** Past this much body we stop reading and close the connection. */
const HARD_BODY_CAP = 64 * 1024 * 1024;

const tooLarge = () => new DavError(413, `The request body is too large (at most ${MAX_XML_BYTES} bytes of XML).`);

export function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** Reads an XML request body up to MAX_XML_BYTES; more is drained (up to a hard cap) and refused with 413. */
export async function readBody(request: FastifyRequest, reply: FastifyReply): Promise<Buffer> {
  const raw: IncomingMessage = request.raw;
  if (!hasBody(request) || raw.readableEnded) return Buffer.alloc(0);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > HARD_BODY_CAP) {
    reply.header('Connection', 'close');
    throw tooLarge();
  }
  return new Promise<Buffer>((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    raw.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_XML_BYTES) {
        over = true;
        chunks.length = 0;
        if (size > HARD_BODY_CAP) {
          raw.pause();
          reply.header('Connection', 'close');
          reject(tooLarge());
        }
        return;
      }
      chunks.push(chunk);
    });
    raw.on('end', () => (over ? reject(tooLarge()) : resolveBody(Buffer.concat(chunks))));
    raw.on('error', reject);
  });
}

/** The body parsed as XML (null when empty); see xml.ts for what is refused. */
export async function readXml(request: FastifyRequest, reply: FastifyReply): Promise<XmlElement | null> {
  return parseXml(await readBody(request, reply));
}
