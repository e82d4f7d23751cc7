// Shared by the client scripts of t/100-npm-clients.t.
//
// - The cache's base URL comes from HF_CACHE_URL (e.g. http://127.0.0.1:PORT/hf).
// - globalThis.fetch is wrapped before any client library is imported: every
//   request the libraries make is recorded (method, URL, Range, status, sha256
//   of a whole body), bounded by a timeout, and refused unless it goes to
//   127.0.0.1/localhost (no network beyond the loopback, ever).
// - stdout carries one JSON document (the results) and nothing else: the
//   libraries' console output goes to stderr.
// - The whole script is bounded by HF_CLIENT_TIMEOUT_MS (default 60 s).

import { createHash } from "node:crypto";

export const base = (process.env.HF_CACHE_URL ?? "").replace(/\/+$/, "");
if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(base + "/")) {
	process.stderr.write(`HF_CACHE_URL must be a loopback http URL, got "${base}"\n`);
	process.exit(2);
}

for (const m of ["log", "info", "debug", "warn"]) {
	console[m] = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");
}

const timeoutMs = Number(process.env.HF_CLIENT_TIMEOUT_MS ?? 60000);
setTimeout(() => {
	process.stderr.write(`client script timed out after ${timeoutMs} ms\n`);
	process.exit(3);
}, timeoutMs).unref();

export const fetches = [];
const realFetch = globalThis.fetch;

export function sha256(bytes) {
	return createHash("sha256").update(bytes).digest("hex");
}

globalThis.fetch = async function recordedFetch(input, init = {}) {
	const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
	const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
	const entry = {
		method: (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase(),
		url,
		range: headers.get("range"),
		authorization: headers.has("authorization"),
		status: null,
	};
	fetches.push(entry);
	const host = new URL(url).hostname;
	if (host !== "127.0.0.1" && host !== "localhost") {
		entry.error = "refused: not a loopback address";
		throw new Error(`refused a request to ${url}: only the loopback is allowed`);
	}
	const signal = init.signal ?? AbortSignal.timeout(20000);
	const res = await realFetch(input, { ...init, signal });
	entry.status = res.status;
	if (res.redirected) entry.final_url = res.url; // followed a redirect
	if (entry.method === "GET" && !entry.range && res.status === 200 && res.body) {
		// hash what the library receives, without consuming its copy
		const copy = res.clone();
		entry.sha256 = copy.arrayBuffer().then(
			(b) => sha256(new Uint8Array(b)),
			(e) => `error: ${e}`,
		);
	}
	return res;
};

// Runs main(), prints {ok, error?, fetches, ...result} as JSON on stdout.
export async function run(main) {
	const out = { ok: false };
	try {
		Object.assign(out, await main());
		out.ok = true;
	} catch (e) {
		out.error = String(e?.stack ?? e);
	}
	for (const f of fetches) if (f.sha256 instanceof Promise) f.sha256 = await f.sha256;
	out.fetches = fetches;
	process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
}
