// encode.js: token ids from the reference tokenizers, one line per document.
//
//   node encode.js tiktoken DOCS.jsonl [special]      tiktoken@1.0.22, gpt2 encoding
//   node encode.js hf TOKENIZER.json DOCS.jsonl        @anush008/tokenizers
//   node encode.js hfbpe VOCAB MERGES DOCS.jsonl       the same, a GPT-2 style
//        vocabulary (vocab.json + merges.txt) under a ByteLevel pre-tokenizer
//   node encode.js bench DOCS.jsonl                    tiktoken gpt2 throughput:
//        prints "MB/s X", UTF-8 bytes of the texts over the time spent in
//        encode_ordinary (reading and parsing the file not counted)
//   node encode.js same DOCS.jsonl GOT.jsonl [nfc]     round-trip check: the
//        texts of GOT (ifg-detok --as jsonl) equal those of DOCS, line by
//        line (or their NFC with "nfc"); exit 1 naming the first that differs
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
	} else if (mode === 'bench') {
		const { get_encoding } = require('tiktoken');
		const enc = get_encoding('gpt2');
		const docs = readDocs(a);
		let bytes = 0, ntok = 0;
		for (const d of docs) bytes += Buffer.byteLength(d, 'utf8');
		const t0 = process.hrtime.bigint();
		for (const d of docs) ntok += enc.encode_ordinary(d).length;
		const dt = Number(process.hrtime.bigint() - t0) / 1e9;
		enc.free();
		out.push(`MB/s ${(bytes / dt / 1e6).toFixed(2)}`, `tokens ${ntok}`, `bytes ${bytes}`);
	} else if (mode === 'same') {
		const want = readDocs(a), got = readDocs(b);
		const nfc = process.argv[5] === 'nfc';
		for (let i = 0; i < Math.max(want.length, got.length); i++) {
			if (i >= want.length || i >= got.length) {
				process.stderr.write(`encode.js: ${got.length} texts, expected ${want.length}\n`);
				process.exit(1);
			}
			const w = nfc ? want[i].normalize('NFC') : want[i];
			if (got[i] !== w) {
				let k = 0;
				while (k < w.length && got[i][k] === w[k]) k++;
				process.stderr.write(`encode.js: text ${i} differs at character ${k}: ` +
					`${JSON.stringify(got[i].slice(k, k + 20))}, expected ${JSON.stringify(w.slice(k, k + 20))}\n`);
				process.exit(1);
			}
		}
		out.push(`same ${want.length}`);
	} else {
		process.stderr.write('usage: node encode.js tiktoken DOCS [special] | hf TOKENIZER DOCS | ' +
			'hfbpe VOCAB MERGES DOCS | bench DOCS | same DOCS GOT [nfc]\n');
		process.exit(2);
	}
	flush(out);
}

main().catch((e) => {
	process.stderr.write(`encode.js: ${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
