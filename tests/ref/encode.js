// encode.js: token ids from the reference tokenizers, one line per document.
//
//   node encode.js tiktoken DOCS.jsonl [special]      tiktoken@1.0.22, gpt2 encoding
//   node encode.js hf TOKENIZER.json DOCS.jsonl        @anush008/tokenizers
//   node encode.js hfbpe VOCAB MERGES DOCS.jsonl       the same, a GPT-2 style
//        vocabulary (vocab.json + merges.txt) under a ByteLevel pre-tokenizer
//
// DOCS.jsonl holds {"text": ...} a line; the output has the ids of each
// document, space-separated, a line each (an empty line for no tokens).
// tiktoken encodes with encode_ordinary (special tokens are text), or with
// every special token allowed when "special" is given; Hugging Face encodes
// without post-processing (addSpecialTokens false), added tokens matched.
// Modules are found through NODE_PATH (pipelines/fetch-data.sh installs
// them under $IFG_DATA/node/node_modules).
'use strict';
const fs = require('fs');

function readDocs(path) {
	const lines = fs.readFileSync(path, 'utf8').split('\n');
	const docs = [];
	for (const l of lines)
		if (l.length) docs.push(JSON.parse(l).text);
	return docs;
}

function emit(out, ids) {
	out.push(Array.from(ids).join(' '));
	if (out.length >= 4096) flush(out);
}

function flush(out) {
	if (out.length) fs.writeSync(1, out.join('\n') + '\n');
	out.length = 0;
}

async function main() {
	const [mode, a, b] = process.argv.slice(2);
	const out = [];
	if (mode === 'tiktoken') {
		const { get_encoding } = require('tiktoken');
		const enc = get_encoding('gpt2');
		const special = b === 'special';
		for (const d of readDocs(a))
			emit(out, special ? enc.encode(d, 'all') : enc.encode_ordinary(d));
		enc.free();
	} else if (mode === 'hf' || mode === 'hfbpe') {
		const hf = require('@anush008/tokenizers');
		let tok, docs;
		if (mode === 'hf') {
			tok = hf.Tokenizer.fromFile(a);
			docs = readDocs(b);
		} else {
			tok = new hf.Tokenizer(await hf.BPE.fromFile(a, b));
			tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
			docs = readDocs(process.argv[5]);
		}
		const B = 2048;
		for (let i = 0; i < docs.length; i += B) {
			const encs = await tok.encodeBatch(docs.slice(i, i + B), { addSpecialTokens: false });
			for (const e of encs) emit(out, e.getIds());
		}
	} else {
		process.stderr.write('usage: node encode.js tiktoken DOCS [special] | hf TOKENIZER DOCS | hfbpe VOCAB MERGES DOCS\n');
		process.exit(2);
	}
	flush(out);
}

main().catch((e) => {
	process.stderr.write(`encode.js: ${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
