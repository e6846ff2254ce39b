/**
 * Where a browser request comes from, for the faces that refuse cross-site changes (the JSON API under /api/v1 and
 * the admin API). The service's own origin is the scheme and host the request was made to; both count
 * X-Forwarded-Proto/-Host only when the peer is a trusted proxy (TRUST_PROXY, express's `trust proxy`).
 */
import type { Request } from 'express';

export function ownOrigin(req: Request): string {
  return `${req.protocol}://${req.host ?? ''}`;
}

/**
 * Why a state-changing request must be refused as cross-site, or null. Browsers send Origin on every cross-origin
 * POST (and on same-origin ones too), and Sec-Fetch-Site on every request; a page of another origin of the same
 * site (another port, a sibling host) is as foreign as any other. Non-browser clients send neither and pass.
 */
export function crossSiteReason(req: Request): string | null {
  const site = req.get('sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') return `Cross-site request refused (Sec-Fetch-Site: ${site})`;
  const origin = req.get('origin');
  if (origin !== undefined && origin !== ownOrigin(req)) return 'Cross-origin request refused';
  return null;
}
