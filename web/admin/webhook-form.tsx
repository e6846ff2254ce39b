/**
 * Create or edit a webhook: every member a caller can set (name, target, events, state, secret, headers, properties,
 * description, error e-mail, notify settings). The server checks everything (the REST face's reader and the agent's
 * validation, so the messages are the API's); a refusal names its member, and the page shows it next to that field,
 * marks the field invalid, announces it and moves focus there.
 *
 * The page never receives the secret or header values: an empty secret keeps the stored one, and a stored header
 * whose value is left empty keeps its value (sent as null, see formDraft in src/admin/admin-api.ts).
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Webhook } from './api.js';

type FieldKey = 'name' | 'targetUrl' | 'events' | 'state' | 'secret' | 'headers' | 'properties' | 'description' | 'errorsEmail' | 'notifyVia' | 'notifyWhen';

/** The API's member name (Name, Events[2], Headers.X-Key, ...) -> the form field showing it. */
const fieldOfMember: Record<string, FieldKey> = {
  name: 'name', targeturl: 'targetUrl', events: 'events', state: 'state', secret: 'secret', headers: 'headers', properties: 'properties',
  description: 'description', errorsemail: 'errorsEmail', notifyvia: 'notifyVia', notifywhen: 'notifyWhen',
};

function fieldOf(member: string | undefined): FieldKey | null {
  return member ? fieldOfMember[member.split(/[.[]/, 1)[0].toLowerCase()] ?? null : null;
}

interface HeaderRow { key: number; name: string; value: string; stored: boolean }

const viaNames = [['Email', 'E-mail'], ['InApp', 'In-app']] as const;
const whenNames = [['FirstFailure', 'On the first failure'], ['Disabling', 'When it is disabled (too many errors)']] as const;

export function WebhookForm({ hook, onSaved, onUnauthorized }: {
  hook: Webhook | null; onSaved: (saved: Webhook) => void; onUnauthorized: () => void;
}) {
  const editing = hook !== null;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field: FieldKey | null; message: string } | null>(null);
  const [rows, setRows] = useState<HeaderRow[]>(() => (hook?.headers ?? []).map((name, i) => ({ key: i, name, value: '', stored: true })));
  const nextKey = useRef(rows.length);
  const form = useRef<HTMLFormElement>(null);
  // After a header row is added or removed: the element to focus once the rows are rendered.
  const focusAfterRender = useRef<string | null>(null);
  useEffect(() => {
    if (focusAfterRender.current) form.current?.querySelector<HTMLElement>(focusAfterRender.current)?.focus();
    focusAfterRender.current = null;
  }, [rows]);

  // After a refusal, focus goes to the field it names (its error is its description), else to the summary.
  useEffect(() => {
    if (!error) return;
    const target = form.current?.querySelector<HTMLElement>(error.field ? `[data-field="${error.field}"]` : '#form-error');
    target?.focus();
  }, [error]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? '');
    let properties: unknown = null;
    if (text('properties').trim() !== '') {
      try {
        properties = JSON.parse(text('properties'));
      } catch (err) {
        setError({ field: 'properties', message: `Properties: not valid JSON (${err instanceof Error ? err.message : String(err)})` });
        return;
      }
    }
    const headers: Record<string, string | null> = {};
    for (const r of rows) {
      if (r.name.trim() === '' && r.value === '') continue;
      headers[r.name.trim()] = r.stored && r.value === '' ? null : r.value;
    }
    const body = {
      Name: text('name'),
      TargetUrl: text('targetUrl'),
      Events: text('events').split(/[,\n]/).map((e) => e.trim()).filter(Boolean),
      // An empty State keeps the stored one (TooManyErrors stays TooManyErrors).
      ...(text('state') ? { State: text('state') } : {}),
      ...(f.get('removeSecret') ? { Secret: null } : text('secret') !== '' ? { Secret: text('secret') } : editing ? {} : { Secret: null }),
      Headers: headers,
      Properties: properties,
      Description: text('description'),
      ErrorsEmail: text('errorsEmail'),
      NotifyVia: f.getAll('notifyVia').map(String),
      NotifyWhen: f.getAll('notifyWhen').map(String),
    };
    setBusy(true);
    try {
      const saved = await api<Webhook>(editing ? 'PUT' : 'POST', editing ? `/webhooks/${hook.webhookId}` : '/webhooks', body);
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onUnauthorized();
      const message = err instanceof Error ? err.message : String(err);
      setError({ field: err instanceof ApiError ? fieldOf(err.field) : null, message });
    } finally {
      setBusy(false);
    }
  };

  /** aria props of a field: its hint and, when the refusal names it, its error. */
  const described = (key: FieldKey, hint = false) => {
    const ids = [hint ? `${key}-hint` : '', error?.field === key ? `${key}-error` : ''].filter(Boolean).join(' ');
    return { 'data-field': key, 'aria-invalid': error?.field === key ? ('true' as const) : undefined, 'aria-describedby': ids || undefined };
  };
  const fieldError = (key: FieldKey) => (error?.field === key ? <p id={`${key}-error`} class="field-error">{error.message}</p> : null);
  const setRow = (key: number, change: Partial<HeaderRow>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  const addRow = () => {
    const key = nextKey.current++;
    focusAfterRender.current = `#header-name-${key}`;
    setRows([...rows, { key, name: '', value: '', stored: false }]);
  };
  const removeRow = (i: number) => {
    const left = rows.filter((_, j) => j !== i);
    // Focus stays in the list: the row now at this place, else the previous one, else the add button.
    const next = left[Math.min(i, left.length - 1)];
    focusAfterRender.current = next ? `#header-name-${next.key}` : '#add-header';
    setRows(left);
  };
  const title = editing ? `Edit ${hook.name || `webhook ${hook.webhookId}`}` : 'New webhook';
  const stateOptions = editing && hook.state !== 'Active' && hook.state !== 'Stopped' ? [['', `${hook.state} (unchanged)`], ['Active', 'Active'], ['Stopped', 'Stopped']]
    : [['Active', 'Active'], ['Stopped', 'Stopped']];

  return (
    <section aria-labelledby="form-title">
      <p><a href={editing ? `#/webhooks/${hook.webhookId}` : '#/'}>← {editing ? 'Back to the webhook' : 'All webhooks'}</a></p>
      <h1 id="form-title">{title}</h1>
      <form ref={form} class="webhook-form panel" onSubmit={submit} noValidate aria-labelledby="form-title">
        {error && (
          <p id="form-error" class="error" role="alert" tabIndex={-1}>
            {editing ? 'Not saved: ' : 'Not created: '}{error.message}
          </p>
        )}
        <label for="name">Name</label>
        <input id="name" name="name" defaultValue={hook?.name ?? ''} required maxLength={400} {...described('name')} />
        {fieldError('name')}

        <label for="targetUrl">Target URL</label>
        <input id="targetUrl" name="targetUrl" type="url" defaultValue={hook?.targetUrl ?? ''} required inputMode="url" {...described('targetUrl', true)} />
        <p id="targetUrl-hint" class="hint">Saving an active webhook with a new target sends it a test event first; the target must answer 2xx.</p>
        {fieldError('targetUrl')}

        <label for="events">Events</label>
        <input id="events" name="events" defaultValue={(hook?.events ?? ['contact.created']).join(', ')} required {...described('events', true)} />
        <p id="events-hint" class="hint">Comma-separated: event names such as <code>contact.created</code>, or <code>sale.*</code>, or <code>*</code>.</p>
        {fieldError('events')}

        <label for="state">State</label>
        <select id="state" name="state" defaultValue={editing && (hook.state === 'Active' || hook.state === 'Stopped') ? hook.state : stateOptions[0][0]} {...described('state')}>
          {stateOptions.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
        {fieldError('state')}

        <label for="secret">Secret</label>
        <input id="secret" name="secret" type="password" autoComplete="new-password" maxLength={400} {...described('secret', true)} />
        <p id="secret-hint" class="hint">
          {editing && hook.hasSecret ? 'A secret is set and is never shown. Leave this empty to keep it, or type a new one.'
            : 'Optional. With a secret, every delivery is signed (X-SuperOffice-Signature).'}
        </p>
        {editing && hook.hasSecret && (
          <label class="check"><input type="checkbox" name="removeSecret" value="1" /> Remove the secret (deliveries are no longer signed)</label>
        )}
        {fieldError('secret')}

        <fieldset aria-describedby={['headers-hint', error?.field === 'headers' ? 'headers-error' : ''].filter(Boolean).join(' ')}>
          <legend>Headers</legend>
          <p id="headers-hint" class="hint">Sent with every delivery. Stored values are never shown: leave a stored header's value empty to keep it.</p>
          {rows.map((r, i) => (
            <div class="header-row" key={r.key}>
              <label class="visually-hidden" for={`header-name-${r.key}`}>Header {i + 1} name</label>
              <input id={`header-name-${r.key}`} value={r.name} placeholder="Name" autoComplete="off"
                onInput={(e) => setRow(r.key, { name: (e.currentTarget as HTMLInputElement).value })}
                {...(i === 0 ? described('headers') : { 'aria-invalid': error?.field === 'headers' ? 'true' : undefined })} />
              <label class="visually-hidden" for={`header-value-${r.key}`}>Header {i + 1} value</label>
              <input id={`header-value-${r.key}`} value={r.value} placeholder={r.stored ? 'stored value kept' : 'Value'} autoComplete="off"
                onInput={(e) => setRow(r.key, { value: (e.currentTarget as HTMLInputElement).value })} />
              <button type="button" class="secondary" onClick={() => removeRow(i)} aria-label={`Remove header ${i + 1}${r.name ? ` (${r.name})` : ''}`}>Remove</button>
            </div>
          ))}
          <button type="button" class="secondary" id="add-header" onClick={addRow} {...(rows.length === 0 ? described('headers') : {})}>Add header</button>
          {fieldError('headers')}
        </fieldset>

        <label for="properties">Properties</label>
        <textarea id="properties" name="properties" rows={4} spellcheck={false}
          defaultValue={hook?.properties ? JSON.stringify(hook.properties, null, 2) : ''} {...described('properties', true)} />
        <p id="properties-hint" class="hint">A JSON object; each key is added to every delivery's body. Empty: none.</p>
        {fieldError('properties')}

        <label for="description">Description</label>
        <textarea id="description" name="description" rows={2} defaultValue={hook?.description ?? ''} {...described('description')} />
        {fieldError('description')}

        <label for="errorsEmail">Error e-mail</label>
        <input id="errorsEmail" name="errorsEmail" type="email" autoComplete="email" defaultValue={hook?.errorsEmail ?? ''} {...described('errorsEmail', true)} />
        <p id="errorsEmail-hint" class="hint">Who is told when deliveries fail (see Notify).</p>
        {fieldError('errorsEmail')}

        <Flags legend="Notify via" name="notifyVia" options={viaNames} checked={hook?.notifyVia ?? []} described={described} fieldError={fieldError} />
        <Flags legend="Notify when" name="notifyWhen" options={whenNames} checked={hook?.notifyWhen ?? []} described={described} fieldError={fieldError} />

        <div class="actions">
          <button type="submit" aria-disabled={busy}>{busy ? 'Saving…' : editing ? 'Save changes' : 'Create webhook'}</button>
          <a href={editing ? `#/webhooks/${hook.webhookId}` : '#/'}>Cancel</a>
        </div>
      </form>
    </section>
  );
}

/** A flags member (NotifyVia, NotifyWhen) as a group of checkboxes; a refusal is marked on the first one. */
function Flags({ legend, name, options, checked, described, fieldError }: {
  legend: string; name: 'notifyVia' | 'notifyWhen'; options: ReadonlyArray<readonly [string, string]>; checked: readonly string[];
  described: (key: FieldKey) => Record<string, unknown>; fieldError: (key: FieldKey) => JSX.Element | null;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.map(([value, label], i) => (
        <label class="check" key={value}>
          <input type="checkbox" name={name} value={value} defaultChecked={checked.includes(value)} {...(i === 0 ? described(name) : {})} /> {label}
        </label>
      ))}
      {fieldError(name)}
    </fieldset>
  );
}
