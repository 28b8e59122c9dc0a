// The JavaScript demo (docs/js.md): the same greeting as the C and Go
// guests, in the style of a Cloudflare Worker. The node parses this file
// and runs its top level once, when the app loads; every request then
// starts from that snapshot in a fresh sandbox.
const greeting = env.GREETING || "Hello";

addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  let name = url.searchParams.get("name") || "world";
  if (name.length > 256) name = name.slice(0, 256);
  if (url.pathname.endsWith("/json")) {
    event.respondWith(Response.json({ greeting, name, method: event.request.method }));
    return;
  }
  event.respondWith(new Response(`${greeting}, ${name}! (from JavaScript)\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  }));
});
