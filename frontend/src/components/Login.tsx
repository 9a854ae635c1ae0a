import { type FormEvent, useState } from 'react';

interface Props {
  error: string | null;
  onKey: (key: string) => void;
}

export function Login({ error, onKey }: Props) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <form className="login" onSubmit={submit}>
      <h1>Rideshare Streams · control room</h1>
      <p>Enter an API key: an admin key controls the simulation, a viewer key only watches.</p>
      <p className="hint">Local development keys: dev-admin-key, dev-viewer-key (change them with RIDESHARE_API_ADMIN_KEYS / RIDESHARE_API_VIEWER_KEYS).</p>
      <input data-testid="api-key" type="password" value={key} onChange={(e) => setKey(e.target.value)} placeholder="API key" autoFocus />
      <button type="submit">Connect</button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}
