// @huggingface/hub through the cache: listFiles (paginated), fileDownloadInfo,
// downloadFile for every file, snapshotDownload into a fresh directory.
//
//   HF_CACHE_URL=http://127.0.0.1:PORT/hf HF_CLIENT_DIR=/tmp/x node hub.mjs
//
// Prints JSON: {ok, error?, repos: {"model:test-org/tiny-model": {list,
// info, download, snapshot}}, fetches}. Checks are left to the Perl test.

import { base, run, sha256 } from "./lib.mjs";
import { readdir, readFile, mkdtemp } from "node:fs/promises";
import { join, relative } from "node:path";

const { listFiles, fileDownloadInfo, downloadFile, snapshotDownload } = await import("@huggingface/hub");

const REPOS = [
	{ type: "model", name: "test-org/tiny-model" },
	{ type: "dataset", name: "test-org/tiny-dataset" },
];

async function walk(dir, root = dir, out = {}) {
	for (const e of await readdir(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory()) await walk(p, root, out);
		else out[relative(root, p)] = sha256(await readFile(p)); // follows the blob symlinks
	}
	return out;
}

async function one(repo, workDir) {
	const hubUrl = base;
	const r = { list: [], info: {}, download: {} };

	for await (const e of listFiles({ repo, recursive: true, hubUrl })) {
		r.list.push(e);
	}
	r.list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

	// one file's failure is recorded, and the others still tried
	for (const e of r.list) {
		if (e.type !== "file") continue;
		try {
			const info = await fileDownloadInfo({ repo, path: e.path, hubUrl });
			r.info[e.path] = info && { size: info.size, etag: info.etag, url: info.url, xet: !!info.xet };
			// a second call, as a client that has no downloadInfo at hand makes it
			const blob = await downloadFile({ repo, path: e.path, hubUrl });
			r.download[e.path] = blob && { size: blob.size, sha256: sha256(new Uint8Array(await blob.arrayBuffer())) };
		} catch (err) {
			r.download[e.path] = { error: String(err) };
		}
	}

	try {
		const cacheDir = await mkdtemp(join(workDir, "snapshot-"));
		const folder = await snapshotDownload({ repo, hubUrl, cacheDir });
		r.snapshot = { folder: relative(cacheDir, folder), files: await walk(folder) };
	} catch (err) {
		r.snapshot = { error: String(err?.stack ?? err) };
	}
	return r;
}

run(async () => {
	const workDir = process.env.HF_CLIENT_DIR;
	if (!workDir) throw new Error("HF_CLIENT_DIR is not set");
	const repos = {};
	for (const repo of REPOS) repos[`${repo.type}:${repo.name}`] = await one(repo, workDir);
	return { repos };
});
