/**
 * The admin page: sign in, the webhook list, a webhook (definition, 24 h chart, delivery log, actions) and a
 * delivery with its attempts. Preact, bundled by esbuild at build time (scripts/build-admin.mjs); routes live in the
 * URL hash so the server only ships static files.
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Attempt, type Bucket, type Delivery, type RedeliverResult, type SentRequest, type Webhook } from './api.js';
import { WebhookForm } from './webhook-form.js';
import './styles.css';

type Route = { page: 'list' } | { page: 'new' } | { page: 'webhook' | 'edit' | 'delivery'; id: number };

function parseRoute(hash: string): Route {
  if (hash === '#/new') return { page: 'new' };
  const m = /^#\/(webhooks|deliveries)\/(\d+)(\/edit)?$/.exec(hash);
  if (m && !(m[3] && m[1] === 'deliveries')) return { page: m[1] === 'webhooks' ? (m[3] ? 'edit' : 'webhook') : 'delivery', id: Number(m[2]) };
  return { page: 'list' };
}

/** A message for the next page shown (after a save navigates to the webhook). */
let flash: string | null = null;
function takeFlash(): { text: string } | null {
  const text = flash;
  flash = null;
  return text ? { text } : null;
}

const pad = (n: number) => String(n).padStart(2, '0');
function when(ms: number | string | null): string {
  if (ms === null) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loads `fn` when `key` changes; `reload` runs it again. A 401 sends the user back to sign-in. */
function useLoad<T>(fn: () => Promise<T>, key: unknown[], onUnauthorized: () => void) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    fn().then((d) => { setData(d); setError(null); }, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) onUnauthorized();
      else setError(errorText(err));
    });
  }, key);
  useEffect(reload, [reload]);
  return { data, error, reload };
}

function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${state}`}>{state}</span>;
}

function StatusBadge({ d }: { d: Pick<Delivery, 'status' | 'inFlight'> }) {
  const s = d.inFlight ? 'in flight' : d.status.replace('_', ' ');
  return <span class={`badge badge-${d.inFlight ? 'inflight' : d.status}`}>{s}</span>;
}

function SignIn({ onSignedIn }: { onSignedIn: (user: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const userField = useRef<HTMLInputElement>(null);
  // autofocus is honoured on page load only; after sign-out the form is rendered again and focus would stay on body.
  useEffect(() => { userField.current?.focus(); }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      const r = await api<{ associate: { userName: string } }>('POST', '/session', { userName: form.get('userName'), password: form.get('password') });
      onSignedIn(r.associate.userName);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Webhook Agent</h1>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <h2>Sign in</h2>
        <label for="userName">User name</label>
        <input id="userName" name="userName" ref={userField} autoComplete="username" required autoFocus />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        {error && <p id="signin-error" class="error" role="alert">{error}</p>}
        <button type="submit" aria-disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}

const PAGE_SIZE = 50;
const stateNames = ['Active', 'Stopped', 'TooManyErrors'] as const;

/** The list, a page at a time, searched by name, target or event and filtered by state (all on the server). */
function WebhookList({ onUnauthorized }: { onUnauthorized: () => void }) {
  const [query, setQuery] = useState({ search: '', state: '', offset: 0 });
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(query.offset) });
  if (query.search) params.set('search', query.search);
  if (query.state) params.set('state', query.state);
  // The answer keeps the offset it was asked for: until the next page arrives, the status describes the rows shown.
  const { data, error } = useLoad(async () => ({ ...await api<{ webhooks: Webhook[]; total: number }>('GET', `/webhooks?${params.toString()}`), offset: query.offset }),
    [query.search, query.state, query.offset], onUnauthorized);
  const search = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setQuery({ search: String(form.get('search') ?? '').trim(), state: String(form.get('state') ?? ''), offset: 0 });
  };
  const last = data ? Math.min(data.offset + data.webhooks.length, data.total) : 0;
  return (
    <section aria-labelledby="list-title">
      <div class="row">
        <h1 id="list-title">Webhooks</h1>
        <a class="button" href="#/new">New webhook</a>
      </div>
      <form role="search" class="actions" onSubmit={search}>
        <label class="inline" for="search">Search</label>
        <input id="search" name="search" type="search" placeholder="name, target or event" defaultValue={query.search} />
        <label class="inline" for="state">State</label>
        <select id="state" name="state" defaultValue={query.state}>
          <option value="">any</option>
          {stateNames.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <button type="submit" class="secondary">Search</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <p role="status" aria-live="polite" class="muted">
        {data ? (data.total === 0 ? '' : `${data.offset + 1}–${last} of ${data.total}`) : ''}
      </p>
      {!data ? <p aria-busy="true">Loading…</p> : data.webhooks.length === 0 ? <p>{query.search || query.state ? 'No webhook matches.' : 'No webhooks yet.'}</p> : (
        <table class="cards">
          <thead>
            <tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Target</th><th scope="col" class="num">Calls</th>
              <th scope="col" class="num">Errors</th><th scope="col" class="num">In a row</th><th scope="col">Last error</th></tr>
          </thead>
          <tbody>
            {data.webhooks.map((w) => (
              <tr key={w.webhookId}>
                <td data-label="Name"><a href={`#/webhooks/${w.webhookId}`}>{w.name || `Webhook ${w.webhookId}`}</a></td>
                <td data-label="State"><StateBadge state={w.state} /></td>
                <td data-label="Target" class="url">{w.targetUrl}</td>
                <td data-label="Calls" class="num">{w.totalCalls}</td>
                <td data-label="Errors" class="num">{w.totalErrors}</td>
                <td data-label="In a row" class="num">{w.consecutiveErrors}</td>
                <td data-label="Last error" class="lasterror">{w.lastError ? w.lastError.split('\n', 1)[0] : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.total > PAGE_SIZE && (
        <nav class="row" aria-label="Pages">
          <button type="button" class="secondary" aria-disabled={query.offset === 0}
            onClick={() => { if (query.offset > 0) setQuery({ ...query, offset: Math.max(0, query.offset - PAGE_SIZE) }); }}>Previous page</button>
          <button type="button" class="secondary" aria-disabled={last >= data.total}
            onClick={() => { if (last < data.total) setQuery({ ...query, offset: query.offset + PAGE_SIZE }); }}>Next page</button>
        </nav>
      )}
    </section>
  );
}

/** Attempts per hour over the last 24 h as stacked bars, with the numbers in a table for screen readers. */
function Chart({ buckets }: { buckets: Bucket[] }) {
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const w = 24;
  const h = 120;
  const total = buckets.reduce((a, b) => ({ ok: a.ok + b.succeeded, failed: a.failed + b.failed }), { ok: 0, failed: 0 });
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${buckets.length * w} ${h + 16}`} role="img" aria-labelledby="chart-caption" preserveAspectRatio="none">
        {buckets.map((b, i) => {
          const okH = (b.succeeded / max) * h;
          const failH = (b.failed / max) * h;
          return (
            <g key={b.start}>
              <title>{`${when(b.start).slice(11, 16)}: ${b.succeeded} succeeded, ${b.failed} failed`}</title>
              <rect x={i * w + 3} y={h - okH} width={w - 6} height={okH} class="ok" />
              <rect x={i * w + 3} y={h - okH - failH} width={w - 6} height={failH} class="failed" />
              {i % 6 === 0 && <text x={i * w + 2} y={h + 13}>{when(b.start).slice(11, 16)}</text>}
            </g>
          );
        })}
      </svg>
      <figcaption id="chart-caption">
        Attempts per hour, last 24 h: <span class="legend ok">{total.ok} succeeded</span>, <span class="legend failed">{total.failed} failed</span>
      </figcaption>
      <table class="visually-hidden">
        <caption>Attempts per hour</caption>
        <thead><tr><th scope="col">Hour</th><th scope="col">Succeeded</th><th scope="col">Failed</th></tr></thead>
        <tbody>{buckets.map((b) => <tr key={b.start}><td>{when(b.start)}</td><td>{b.succeeded}</td><td>{b.failed}</td></tr>)}</tbody>
      </table>
    </figure>
  );
}

function redeliverMessage(r: RedeliverResult): string {
  const parked = r.parkedWebhooks.length ? ` The webhook is ${r.parkedWebhooks[0].state}: they wait until it is activated.` : '';
  return `${r.redelivered.length} deliver${r.redelivered.length === 1 ? 'y' : 'ies'} queued again.${parked}`;
}

function DeliveryLog({ webhookId, onUnauthorized, refresh }: { webhookId: number; onUnauthorized: () => void; refresh: number }) {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState<Array<number | undefined>>([undefined]);
  const before = pages[pages.length - 1];
  const { data, error } = useLoad(() => api<{ deliveries: Delivery[]; nextBefore: number | null }>('GET',
    `/webhooks/${webhookId}/deliveries?limit=20${status ? `&status=${status}` : ''}${before ? `&before=${before}` : ''}`),
  [webhookId, status, before, refresh], onUnauthorized);
  return (
    <section aria-labelledby="log-title">
      <div class="row">
        <h2 id="log-title">Delivery log</h2>
        <label class="inline">Show{' '}
          <select value={status} onChange={(e) => { setStatus((e.currentTarget as HTMLSelectElement).value); setPages([undefined]); }}>
            <option value="">all</option><option value="pending">pending</option><option value="succeeded">succeeded</option>
            <option value="failed">failed or expired</option><option value="cancelled">cancelled</option>
          </select>
        </label>
        <a href={`api/webhooks/${webhookId}/deliveries.csv${status ? `?status=${status}` : ''}`} download>Export CSV</a>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {!data ? <p aria-busy="true">Loading…</p> : data.deliveries.length === 0 ? <p>No deliveries.</p> : (
        <table class="cards">
          <thead><tr><th scope="col">Delivery</th><th scope="col">Event</th><th scope="col">Signalled</th><th scope="col">Status</th>
            <th scope="col" class="num">Attempts</th><th scope="col">Last answer</th></tr></thead>
          <tbody>
            {data.deliveries.map((d) => (
              <tr key={d.deliveryId}>
                <td data-label="Delivery"><a href={`#/deliveries/${d.deliveryId}`}>#{d.deliveryId}</a></td>
                <td data-label="Event"><span>{d.eventName} <span class="muted">({d.primaryKey})</span></span></td>
                <td data-label="Signalled">{when(d.signalledAt)}</td>
                <td data-label="Status"><StatusBadge d={d} /></td>
                <td data-label="Attempts" class="num">{d.attempts}</td>
                <td data-label="Last answer" class="lasterror">{d.lastStatus ?? (d.lastError ? d.lastError.split('\n', 1)[0] : '–')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row">
        {pages.length > 1 && <button type="button" class="secondary" onClick={() => setPages(pages.slice(0, -1))}>Newer</button>}
        {data?.nextBefore && <button type="button" class="secondary" onClick={() => setPages([...pages, data.nextBefore ?? undefined])}>Older</button>}
      </div>
    </section>
  );
}

function WebhookDetail({ id, onUnauthorized }: { id: number; onUnauthorized: () => void }) {
  const hook = useLoad(() => api<Webhook>('GET', `/webhooks/${id}`), [id], onUnauthorized);
  const [refresh, setRefresh] = useState(0);
  const chart = useLoad(() => api<{ buckets: Bucket[] }>('GET', `/webhooks/${id}/chart`), [id, refresh], onUnauthorized);
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(takeFlash);
  const [busy, setBusy] = useState(false);
  const [since, setSince] = useState(() => {
    const d = new Date(Date.now() - 24 * 3600_000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  });
  const act = async (what: () => Promise<string>) => {
    if (busy) return;
    setBusy(true);
    try {
      setMessage({ text: await what() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onUnauthorized();
      setMessage({ text: errorText(err), error: true });
    } finally {
      setBusy(false);
      hook.reload();
      setRefresh((n) => n + 1);
    }
  };
  const w = hook.data;
  if (hook.error) return <p class="error" role="alert">{hook.error}</p>;
  if (!w) return <p aria-busy="true">Loading…</p>;
  const active = w.state === 'Active';
  return (
    <section aria-labelledby="hook-title">
      <p><a href="#/">← All webhooks</a></p>
      <div class="row">
        <h1 id="hook-title">{w.name || `Webhook ${w.webhookId}`}</h1>
        <StateBadge state={w.state} />
      </div>
      <div class="actions" role="group" aria-label="Webhook actions">
        <a class="button secondary" href={`#/webhooks/${id}/edit`}>Edit</a>
        <button type="button" aria-disabled={busy} onClick={() => act(async () => {
          const saved = await api<Webhook>('POST', `/webhooks/${id}/state`, { state: active ? 'Stopped' : 'Active' });
          return `Webhook is now ${saved.state}.`;
        })}>{active ? 'Stop' : 'Activate'}</button>
        <button type="button" class="secondary" aria-disabled={busy} onClick={() => act(async () => {
          const r = await api<{ success: boolean; message: string }>('POST', `/webhooks/${id}/test`);
          if (!r.success) throw new Error(`Test event failed: ${r.message}`);
          return `Test event accepted: ${r.message}`;
        })}>Send test event</button>
        <button type="button" class="secondary" aria-disabled={busy} onClick={() => {
          if (busy || !confirm(`Delete webhook "${w.name || w.webhookId}"? Its pending deliveries are cancelled. This cannot be undone.`)) return;
          api('DELETE', `/webhooks/${id}`).then(() => { location.hash = '#/'; }, (err: unknown) => {
            if (err instanceof ApiError && err.status === 401) onUnauthorized();
            else setMessage({ text: errorText(err), error: true });
          });
        }}>Delete</button>
        <form class="inline" onSubmit={(e) => {
          e.preventDefault();
          void act(async () => redeliverMessage(await api<RedeliverResult>('POST', `/webhooks/${id}/redeliver`, { since: new Date(since).toISOString() })));
        }}>
          <label for="since">Failed since</label>
          <input id="since" type="datetime-local" value={since} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} required />
          <button type="submit" class="secondary" aria-disabled={busy}>Redeliver failed</button>
        </form>
      </div>
      <div role="status" aria-live="polite" class={message?.error ? 'message error' : 'message'}>{message?.text ?? ''}</div>

      <div class="grid">
        <section aria-labelledby="def-title" class="panel">
          <h2 id="def-title">Definition</h2>
          <dl>
            <dt>Id</dt><dd>{w.webhookId}</dd>
            <dt>Target URL</dt><dd class="url">{w.targetUrl}</dd>
            <dt>Events</dt><dd>{w.events.join(', ')}</dd>
            <dt>Type</dt><dd>{w.type}</dd>
            <dt>Secret</dt><dd>{w.hasSecret ? 'set (signed with X-SuperOffice-Signature)' : 'none'}</dd>
            <dt>Headers</dt><dd>{w.headers.length ? w.headers.join(', ') : 'none'}</dd>
            <dt>Properties</dt><dd>{w.properties ? <code>{JSON.stringify(w.properties)}</code> : 'none'}</dd>
            {w.description && <><dt>Description</dt><dd>{w.description}</dd></>}
            <dt>Error e-mail</dt><dd>{w.errorsEmail ?? 'none'}</dd>
            <dt>Notify</dt><dd>via {w.notifyVia.join(', ') || 'none'}; when {w.notifyWhen.join(', ') || 'never'}</dd>
            <dt>Registered</dt><dd>{when(w.registered)}{w.registeredBy ? ` by ${w.registeredBy}` : ''}</dd>
            <dt>Calls / errors</dt><dd>{w.totalCalls} / {w.totalErrors} ({w.consecutiveErrors} in a row)</dd>
            <dt>Last error</dt><dd><pre tabIndex={0} role="region" aria-label="Last error">{w.lastError ?? '–'}</pre></dd>
          </dl>
        </section>
        <section aria-labelledby="chart-title" class="panel">
          <h2 id="chart-title">Last 24 hours</h2>
          {chart.data ? <Chart buckets={chart.data.buckets} /> : <p aria-busy="true">Loading…</p>}
        </section>
      </div>
      <DeliveryLog webhookId={id} onUnauthorized={onUnauthorized} refresh={refresh} />
    </section>
  );
}

/** The body as readable JSON (the exact bytes are one click away: pretty-printing may round long numbers). */
function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A delivery's request as sent: method, URL, headers in order, the body. */
function WhatWasSent({ id, refresh, onUnauthorized }: { id: number; refresh: number; onUnauthorized: () => void }) {
  const { data: r, error } = useLoad(() => api<SentRequest>('GET', `/deliveries/${id}/sent`), [id, refresh], onUnauthorized);
  return (
    <section aria-labelledby="sent-title" class="sent">
      <h2 id="sent-title">What was sent</h2>
      {error ? <p class="error">{error}</p> : !r ? <p aria-busy="true">Loading…</p> : (
        <>
          <p class="muted">
            The request of attempt {r.attemptNo}, rebuilt from the stored event and webhook with the code that sends it
            (attempts differ only in X-SuperOffice-Retry, one less than the attempt number, and the Standard Webhooks timestamp and signature,
            if used). The secret is never shown: the signature headers are HMACs of this body.
          </p>
          {r.webhookChangedAfter !== null && (
            <p class="notice">The webhook was changed at {when(r.webhookChangedAfter)}, after this attempt: this is the request as it would be sent now.</p>
          )}
          {r.secretError && <p class="notice">The secret cannot be read ({r.secretError}): nothing is sent until that is fixed.</p>}
          <p><code>{r.method} {r.url}</code></p>
          <table class="headers">
            <caption class="visually-hidden">Request headers</caption>
            <thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead>
            <tbody>
              {r.headers.map((h) => (
                <tr key={h.name}>
                  <th scope="row">{h.name}</th>
                  <td class="url">{h.hidden ? <span class="muted">hidden (needs the manage right)</span> : <code>{h.value}</code>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Body <span class="muted">({r.bodyBytes} bytes, application/json)</span></h3>
          <pre tabIndex={0} role="region" aria-label="Body sent">{prettyJson(r.body)}</pre>
          <details>
            <summary>The body's exact text</summary>
            <pre tabIndex={0} role="region" aria-label="Body sent, exact text">{r.body}</pre>
          </details>
        </>
      )}
    </section>
  );
}

function DeliveryDetail({ id, onUnauthorized }: { id: number; onUnauthorized: () => void }) {
  const { data: d, error, reload } = useLoad(() => api<Delivery & { attemptLog: Attempt[] }>('GET', `/deliveries/${id}`), [id], onUnauthorized);
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [refresh, setRefresh] = useState(0);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!d) return <p aria-busy="true">Loading…</p>;
  const redeliver = async () => {
    try {
      setMessage({ text: redeliverMessage(await api<RedeliverResult>('POST', `/deliveries/${id}/redeliver`)) });
    } catch (err) {
      setMessage({ text: errorText(err), error: true });
    }
    reload();
  };
  return (
    <section aria-labelledby="delivery-title">
      <p><a href={`#/webhooks/${d.webhookId}`}>← Webhook {d.webhookId}</a></p>
      <div class="row">
        <h1 id="delivery-title">Delivery #{d.deliveryId}</h1>
        <StatusBadge d={d} />
      </div>
      <div class="actions">
        <button type="button" onClick={() => { if (!d.inFlight) void redeliver(); }} aria-disabled={d.inFlight}>Redeliver</button>
        <button type="button" class="secondary" onClick={() => { reload(); setRefresh((n) => n + 1); }}>Refresh</button>
      </div>
      <div role="status" aria-live="polite" class={message?.error ? 'message error' : 'message'}>{message?.text ?? ''}</div>
      <dl class="panel">
        <dt>Event</dt><dd>{d.eventName} (primary key {d.primaryKey})</dd>
        <dt>EventId</dt><dd><code>{d.eventId}</code></dd>
        <dt>Signalled</dt><dd>{when(d.signalledAt)}</dd>
        <dt>{d.status === 'pending' ? 'Next attempt' : 'Finished'}</dt><dd>{when(d.status === 'pending' ? d.nextAttemptAt : d.finishedAt)}</dd>
      </dl>
      <h2>Attempts</h2>
      {d.attemptLog.length === 0 ? <p>No attempts yet.</p> : (
        <ol class="attempts">
          {d.attemptLog.map((a) => (
            <li key={`${a.attemptNo}-${a.startedAt}`} class={a.outcome === 'success' ? 'ok' : 'failed'}>
              <div class="row">
                <strong>Attempt {a.attemptNo}</strong>
                <span>{when(a.startedAt)}</span>
                <span>{a.durationMs} ms</span>
                <span class={`badge badge-${a.outcome === 'success' ? 'succeeded' : 'failed_permanent'}`}>{a.httpStatus ?? a.errorClass ?? a.outcome}</span>
                <span class="muted">{a.outcome}</span>
              </div>
              {a.responseExcerpt && <pre tabIndex={0} role="region" aria-label={`Response of attempt ${a.attemptNo}`}>{a.responseExcerpt}</pre>}
            </li>
          ))}
        </ol>
      )}
      <WhatWasSent id={id} refresh={refresh + d.attempts} onUnauthorized={onUnauthorized} />
    </section>
  );
}

function EditWebhook({ id, onSaved, onUnauthorized }: { id: number; onSaved: (w: Webhook) => void; onUnauthorized: () => void }) {
  const hook = useLoad(() => api<Webhook>('GET', `/webhooks/${id}`), [id], onUnauthorized);
  if (hook.error) return <p class="error" role="alert">{hook.error}</p>;
  if (!hook.data) return <p aria-busy="true">Loading…</p>;
  return <WebhookForm hook={hook.data} onSaved={onSaved} onUnauthorized={onUnauthorized} />;
}

function App() {
  const [user, setUser] = useState<string | null | undefined>(undefined);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    api<{ associate: { userName: string } }>('GET', '/session').then((r) => setUser(r.associate.userName), () => setUser(null));
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  // After sign-in and on every route change the content gets focus (not body).
  useEffect(() => { main.current?.focus(); }, [route, user]);
  const signedOut = useCallback(() => setUser(null), []);
  const saved = (created: boolean) => (w: Webhook) => {
    flash = created ? `Webhook ${w.webhookId} created (${w.state}).` : 'Changes saved.';
    location.hash = `#/webhooks/${w.webhookId}`;
  };
  if (user === undefined) return <p aria-busy="true">Loading…</p>;
  if (user === null) return <SignIn onSignedIn={setUser} />;
  const signOut = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    setUser(null);
  };
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>Skip to content</a>
      <header>
        <a href="#/" class="brand">Webhook Agent</a>
        <nav aria-label="Account">
          <span class="muted">Signed in as {user}</span>
          <button type="button" class="secondary" onClick={signOut}>Sign out</button>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {route.page === 'list' && <WebhookList onUnauthorized={signedOut} />}
        {route.page === 'new' && <WebhookForm hook={null} onSaved={saved(true)} onUnauthorized={signedOut} />}
        {route.page === 'edit' && <EditWebhook key={route.id} id={route.id} onSaved={saved(false)} onUnauthorized={signedOut} />}
        {route.page === 'webhook' && <WebhookDetail key={route.id} id={route.id} onUnauthorized={signedOut} />}
        {route.page === 'delivery' && <DeliveryDetail key={route.id} id={route.id} onUnauthorized={signedOut} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('root') as HTMLElement);
