// Verifies one webhook delivery with the official libraries subscribers use.
// Input on stdin: {"secret": "whsec_...", "headers": {"webhook-id": ..., ...}, "body": "<raw body>"}, and
// optionally "at": the Unix seconds the libraries take as now (their 5-minute tolerance is measured from
// it), for a sample signed at a fixed time.
// Prints {"standardwebhooks": <event id>, "svix": <event id>} and exits 0 when both verify;
// prints the error and exits 1 otherwise.
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

let raw = "";
for await (const chunk of process.stdin) raw += chunk;
const { secret, headers, body, at } = JSON.parse(raw);
if (at != null) Date.now = () => at * 1000;
try {
  const standard = new Webhook(secret).verify(body, headers);
  const svix = new SvixWebhook(secret).verify(body, headers);
  console.log(JSON.stringify({ standardwebhooks: standard.id, svix: svix.id }));
} catch (error) {
  console.log(`verification failed: ${error.message}`);
  process.exit(1);
}
