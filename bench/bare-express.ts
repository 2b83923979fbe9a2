// The baseline the gateway is measured against: an Express 5 server that parses the same JSON body
// and answers a fixed reply. Whatever the gateway does beyond this is its own cost.
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 16 * 1024 * 1024 }));
const reply = { model_name: 'bare', model_version: '1', id: 'x', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.9, 0.05, 0.05] }] };
app.post('/v2/models/:model/infer', (req, res) => {
  if (!req.body || typeof req.body !== 'object') {
    res.status(400).json({ error: 'body' });
    return;
  }
  res.json(reply);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
});
