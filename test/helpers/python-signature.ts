/** The X-SuperOffice-Signature of `body` computed by Python's hmac: an oracle independent of our signing code. */
import { execFileSync } from 'node:child_process';

export function pythonSignature(secret: string, body: Buffer): string {
  const script = 'import sys,hmac,hashlib,base64\nk=sys.argv[1].encode("utf-8")\nb=sys.stdin.buffer.read()\n' +
    'print(base64.b64encode(hmac.new(k,b,hashlib.sha256).digest()).decode())';
  return execFileSync('python3', ['-c', script, secret], { input: body }).toString().trim();
}
