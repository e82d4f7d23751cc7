// @huggingface/transformers (transformers.js) through the cache: AutoConfig
// and AutoTokenizer from_pretrained with env.remoteHost at the cache, local
// models off and its own caches off (so every load goes through nginx).
//
//   HF_CACHE_URL=http://127.0.0.1:PORT/hf HF_CLIENT_DIR=/tmp/x \
//   HF_MODEL=test-org/tiny-model HF_TEXT="Hello world" node transformers.mjs
//
// Prints JSON: {ok, error?, config, config_tag, tokenizer: {class, input_ids,
// tokens, decoded}, cache_dir_files, fetches}.

import { base, run } from "./lib.mjs";
import { readdir } from "node:fs/promises";

const { env, AutoConfig, AutoTokenizer } = await import("@huggingface/transformers");

run(async () => {
	const workDir = process.env.HF_CLIENT_DIR;
	const model = process.env.HF_MODEL;
	const text = process.env.HF_TEXT ?? "";
	if (!workDir || !model) throw new Error("HF_CLIENT_DIR and HF_MODEL must be set");

	env.remoteHost = base + "/";
	env.allowRemoteModels = true;
	env.allowLocalModels = false;
	env.useBrowserCache = false;
	env.useFSCache = false;
	env.useCustomCache = false;
	env.useWasmCache = false;
	env.cacheDir = workDir; // unused with useFSCache off; checked to stay empty
	env.fetch = globalThis.fetch; // the recording fetch (transformers.js captured the real one at import)

	const config = await AutoConfig.from_pretrained(model);
	const configTag = await AutoConfig.from_pretrained(model, { revision: "v1.0" });
	const tok = await AutoTokenizer.from_pretrained(model);
	const ids = tok.encode(text);
	return {
		config: { model_type: config.model_type, hidden_size: config.hidden_size, revision: config.revision },
		config_tag: { model_type: configTag.model_type, hidden_size: configTag.hidden_size, revision: configTag.revision },
		tokenizer: {
			class: tok.constructor.name,
			input_ids: ids,
			tokens: tok.tokenize(text),
			decoded: tok.decode(ids),
		},
		cache_dir_files: (await readdir(workDir, { recursive: true })).length,
	};
});
