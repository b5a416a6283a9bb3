// An upload over REST whose body is streamed in 64 KiB pieces with pauses between them, so it is
// genuinely in flight when a test kills or restarts a server. Never rejects: the outcome says what happened.
import { createHash } from 'node:crypto';
import { request } from 'node:http';

export interface UploadOutcome {
  name: string;
  /** SHA-256 (hex) of the body sent. */
  sha: string;
  status: number | 'error';
  /** The new document's id, when the server acknowledged it (201). */
  id?: string;
}

/** Streams the body in 64 KiB pieces, pausing `pauseMs(offset)` before each. */
export function streamedUpload(port: number, token: string, collectionId: string, name: string, body: Buffer, pauseMs: (offset: number) => number): Promise<UploadOutcome> {
  const outcome: UploadOutcome = { name, sha: createHash('sha256').update(body).digest('hex'), status: 'error' };
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1', port, method: 'POST', agent: false,
      path: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        outcome.status = res.statusCode ?? 'error';
        if (res.statusCode === 201) outcome.id = (JSON.parse(text) as { id: string }).id;
        resolve(outcome);
      });
      res.on('error', () => resolve(outcome));
    });
    req.on('error', () => resolve(outcome));
    let offset = 0;
    const next = () => {
      if (req.destroyed) return;
      if (offset >= body.length) return void req.end();
      req.write(body.subarray(offset, offset + 65536));
      offset += 65536;
      setTimeout(next, pauseMs(offset));
    };
    next();
  });
}

