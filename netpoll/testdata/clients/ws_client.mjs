// A real Node.js client for netpoll/clients_test.go: the npm `ws` package,
// which checks the handshake (Sec-WebSocket-Accept, the echoed subprotocol),
// masks its frames and answers pings as browsers do.
//
// Usage: node ws_client.mjs <ws-url> <token> <subscribe-message>
//
// It connects with the token as the subprotocol, sends the subscribe
// message and then an unsubscribe of an unknown stream, whose error reply
// tells the test that the subscription is in place. It prints one JSON line
// per step on stdout: {"open":…}, {"message":…} for every text message,
// then closes with 1000 after the first message that is not that reply and
// prints {"close":code,"reason":…} once the server answered.
import WebSocket from 'ws';

const [url, token, subscribe] = process.argv.slice(2);
const syncReply = '{"error":"Error unsubscribing from channel"}';
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');

const deadline = setTimeout(() => {
  out({ error: 'timeout' });
  process.exit(2);
}, 20000);

const ws = new WebSocket(url, token);
ws.on('open', () => {
  out({ open: true, protocol: ws.protocol });
  ws.send(subscribe);
  ws.send(JSON.stringify({ type: 'unsubscribe', stream: 'sluice-sync' }));
});
ws.on('message', (data, isBinary) => {
  const text = data.toString('utf8');
  out({ message: text, binary: isBinary });
  if (text !== syncReply) ws.close(1000, 'done');
});
ws.on('error', (err) => {
  out({ error: String(err && err.message) });
  process.exit(1);
});
ws.on('close', (code, reason) => {
  clearTimeout(deadline);
  out({ close: code, reason: reason.toString('utf8') });
  process.exit(0);
});
