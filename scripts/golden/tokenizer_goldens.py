"""Golden fixtures for void-tokenizer: transformers' T5Tokenizer and the sentencepiece library.

Needs its own environment: transformers 4.57.1 requires a huggingface-hub < 1.0, which conflicts
with diffusers 0.42.1 (the other golden scripts), so install the tokenizer lines of
scripts/golden/requirements.txt (transformers, sentencepiece, protobuf, tokenizers) in a
separate virtualenv. No torch is needed.

Writes under crates/void-tokenizer/tests/golden/:

  t5/                      a T5 tokenizer folder as `T5Tokenizer.save_pretrained` writes it:
                           spiece.model (a small unigram model trained here with the PyPI
                           sentencepiece trainer on generated text, nmt_nfkc normalisation,
                           pad 0 / eos 1 / unk 2, no bos, like T5's), 100 extra ids,
                           tokenizer_config.json (legacy=True), special_tokens_map.json,
                           added_tokens.json
  t5_json/                 a second T5 tokenizer as T5TokenizerFast saves it, without spiece.model:
                           tokenizer.json (Unigram vocab + precompiled charsmap), tokenizer_config.json,
                           special_tokens_map.json. Its model is trained with a small custom
                           normalisation table (RULES: full-width forms, ligatures, whitespace,
                           multi-code-point keys) so that its charsmap stays a few kB
  sentencepiece/*.model    small sentencepiece models without a charsmap (identity
                           normalisation) that exercise byte fallback, user-defined symbols,
                           UNUSED and CONTROL pieces and the other normaliser switches
  tokenizer_goldens.json   the texts and the ids transformers / sentencepiece give them

For each tokenizer case (a folder, optionally with some files replaced, plus from_pretrained
kwargs) the JSON holds, per text, `ids` (tokenizer(text).input_ids, no padding or truncation)
and `padded_L` (tokenizer(text, padding="max_length", max_length=L, truncation=True,
add_special_tokens=True).input_ids) for every L in `max_lengths`, each written as
[ids up to the trailing pad ids, number of trailing pad ids]. T5Tokenizer cannot load the
`t5_json` folder (it has no spiece.model): its ids are those of T5Tokenizer on the same folder
with the spiece.model it was made from. `fast` holds T5TokenizerFast's ids on `t5` for
comparison only. Every sentencepiece model gets `ids` (sp.encode(text)) and `pieces`
(sp.encode(text, out_type=str)).

Run: /path/to/tokenizer-venv/bin/python scripts/golden/tokenizer_goldens.py [--out DIR]
                                                                            [--samples DIR]
"""

import argparse
import io
import json
import platform
import random
import shutil
import sys
import tempfile
from pathlib import Path

import google.protobuf
import sentencepiece as spm
import tokenizers
import transformers
from sentencepiece import sentencepiece_model_pb2 as model_pb2
from transformers import T5Tokenizer, T5TokenizerFast

REPO = Path(__file__).resolve().parents[2]
MAX_LENGTH = 226  # the pipeline's call (void-inference-spec §4)
MAX_LENGTHS = (MAX_LENGTH, 8, 1)
EXTRA = [f"<extra_id_{i}>" for i in range(100)]

# How google/t5-v1_1-* and older checkpoints ship their tokenizer: no added_tokens_decoder.
OLDSTYLE_CONFIG = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "extra_ids": 100,
                   "additional_special_tokens": EXTRA, "model_max_length": 512, "name_or_path": "t5-oldstyle"}
OLDSTYLE_MAP = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "additional_special_tokens": EXTRA}


def rules():
    """A small normalisation table (sentencepiece's TSV: source code points, target code points)."""
    lines = []
    for offset in range(26):
        lines.append(f"{0xFF21 + offset:X}\t{0x41 + offset:X}")  # full-width A-Z
        lines.append(f"{0xFF41 + offset:X}\t{0x61 + offset:X}")  # full-width a-z
    for offset in range(10):
        lines.append(f"{0xFF10 + offset:X}\t{0x30 + offset:X}")  # full-width digits
    lines += ["FB01\t66 69", "FB02\t66 6C", "2126\t3A9", "B2\t32", "2460\t31",
              "9\t20", "A\t20", "D\t20", "A0\t20", "3000\t20", "2028\t20", "85\t20",
              "65 301\tE9", "61 301\tE1", "65 301 301\tE9 2D", "69 308\tEF", "AD\t"]
    return "\n".join(lines) + "\n"


def corpus(rng):
    """Deterministic training text: the sample prompts' words, syllable pseudo-words, numbers."""
    syll = ("ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu la le li lo lu ma me mi "
            "mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu str "
            "pl tr th sh ch ing ion ed er est ly").split()
    real = ("a the of video buildings river calm water floating object lime falls table ball rolls pillows placed "
            "two reflecting scene after removal shadow reflection guitar person holding gone café naïve résumé "
            "zürich über hello world don't it's 日本 east west").split()
    lexicon = real * 200 + ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(30000)]
    punct = [",", ".", "!", "?", ";", ":", "(", ")", "-", "'", '"', "%"]

    def sentence():
        words = []
        for _ in range(rng.randint(4, 18)):
            r = rng.random()
            word = str(rng.randint(0, 3000)) if r < 0.1 else rng.choice(lexicon)
            if 0.1 <= r < 0.2:
                word = word.capitalize()
            if rng.random() < 0.15:
                word += rng.choice(punct)
            words.append(word)
        return " ".join(words)

    return [sentence() for _ in range(20000)], sentence


def train(sentences, **kwargs):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=buf, model_type="unigram",
                                   num_threads=1, shuffle_input_sentence=False, minloglevel=2, **kwargs)
    return buf.getvalue()


def sample_prompts(samples):
    prompts = []
    for path in sorted(samples.glob("*/prompt.json")):
        prompts.append(json.loads(path.read_text(encoding="utf-8"))["bg"])
    if not prompts:
        sys.exit(f"no */prompt.json under {samples}")
    return prompts


def texts(prompts, sentence, slow):
    base = [
        "Hello, world! How are you? (Fine; thanks.) -- \"quoted\" 'single' [brackets] {braces} a/b\\c @#$%^&*_+=|~`",
        "Numbers: 0 1 12 123 2024 3.14159 1,000,000 42% -7 +8 1e-5",
        "Café naïve résumé — über Zürich, façade, jalapeño, Ærøskøbing",
        "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 (combining marks)",
        "ＡＢＣ　ｄｅｆ１２３！？（全角）",
        "ﬁne ﬂow x² + y³ = z½ № Ⅻ ㎏ ① ™ …",
        "日本語のテキスト",
        "中文文本 한국어 텍스트",
        "A cat 🐱 and a dog 🐶 on the table.",
        "🐱🐶🐭 😀😀 ∰∰",
        "",
        "   ",
        "  leading spaces",
        "trailing spaces   ",
        "multiple    spaces   between     words",
        "tabs\tand\nnewlines\r\nhere \u3000 and\u00a0nbsp",
        "\t\n",
        "text with </s> inside",
        "text with</s>inside",
        "<pad> at the start",
        "ends with <pad>",
        "<extra_id_3>",
        "a <extra_id_3> b",
        "a<extra_id_3>b",
        "Hello <extra_id_0>.",
        "before   <extra_id_3>   after",
        "<extra_id_99><extra_id_1><extra_id_10> <extra_id_100> <extra_id_1000>",
        "ends with eos </s>",
        "ends with eos</s>",
        "</s>",
        " </s> </s> ",
        "<unk> and x <unk> y <s>",
        "▁ a literal spiece underline ▁▁ x▁y",
        "\u2581Hey \u2581 there",
        "a\x1f<extra_id_3>\x1cb and a\u00a0<extra_id_3>\u3000b",
        "zero\u200bwidth\u200djoiner soft\u00adhyphen",
        "a\x00b control\x01char",
        "line\u2028separator next\u0085line",
        "VOID Removes Objects AND Their SHADOWS",
        "Supercalifragilisticexpialidocious",
        "∑ ∫ √ ≠ ≤ ≥ → ← © ® § ¶",
        "Привет мир, Γειά σου κόσμε",
        "مرحبا שלום",
        "U.S.A. e.g. i.e. etc.",
        "don't won't it's “curly” ‘quotes’ «guillemets»",
        "user <sep> symbols @@@ VOIDED<sep>x",
    ]
    long_text = " ".join(sentence() for _ in range(13))
    assert len(slow(long_text)) > MAX_LENGTH + 50, "the long text must overflow 226 tokens"
    # A text whose 225 kept tokens end with `</s>`: _add_eos_if_not_present adds no second eos.
    eos_at_end = None
    for k in range(200, 240):
        candidate = " ".join(["a"] * k) + " </s> and more words after it " + sentence()
        ids = slow(candidate)
        if len(ids) > MAX_LENGTH and ids[MAX_LENGTH - 2] == 1:
            eos_at_end = candidate
            break
    assert eos_at_end is not None, "no text puts </s> at position 225"
    generated = [sentence() for _ in range(3)]
    return prompts + base + generated + [long_text, eos_at_end]


def encodings(tok, strings):
    out = {"legacy": tok.legacy, "len": len(tok), "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id,
           "ids": [tok(s).input_ids for s in strings]}
    for length in MAX_LENGTHS:
        padded = [tok(s, padding="max_length", max_length=length, truncation=True, add_special_tokens=True).input_ids
                  for s in strings]
        if length == MAX_LENGTH:
            # The pipeline passes a one-element list: the batch path must agree.
            for s, ids in zip(strings, padded):
                batch = tok([s], padding="max_length", max_length=length, truncation=True,
                            add_special_tokens=True).input_ids[0]
                assert batch == ids, (s, batch, ids)
        out[f"padded_{length}"] = [trailing_pads(ids, tok.pad_token_id) for ids in padded]
    return out


def trailing_pads(ids, pad):
    """[ids without the trailing pad ids, how many there were]: lossless, and shorter in JSON."""
    n = len(ids)
    while n > 0 and ids[n - 1] == pad:
        n -= 1
    return [ids[:n], len(ids) - n]


def materialise(base, overrides, into):
    """Copies folder `base` into `into` and applies `overrides` (file name -> text, or None to delete)."""
    shutil.copytree(base, into)
    for name, content in overrides.items():
        if content is None:
            (into / name).unlink(missing_ok=True)
        else:
            (into / name).write_text(content, encoding="utf-8")
    return into


def sentencepiece_variants(sentences):
    """Small identity-normalised models: byte fallback, user-defined symbols, normaliser switches."""
    blob = train(sentences, vocab_size=420, normalization_rule_name="identity", byte_fallback=True,
                 user_defined_symbols=["<sep>", "@@", "VOID"], character_coverage=0.9995,
                 pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    base = model_pb2.ModelProto.FromString(blob)
    variants = {"bytefallback": base}

    raw = model_pb2.ModelProto.FromString(blob)
    raw.normalizer_spec.add_dummy_prefix = False
    raw.normalizer_spec.remove_extra_whitespaces = False
    multi = [p for p in raw.pieces if p.type == 1 and len(p.piece) > 2]
    for p in multi[:4]:
        p.type = 5  # UNUSED: never produced by the encoder
    for p in multi[4:6]:
        p.type = 3  # CONTROL: never produced by the encoder either
    for p in raw.pieces:
        if p.type == 1 and p.piece in ("e", "a"):
            p.type = 5  # unknown characters inside known pieces: the unknown score decides
    variants["raw_whitespace_unused"] = raw

    suffix = model_pb2.ModelProto.FromString(blob)
    suffix.trainer_spec.treat_whitespace_as_suffix = True
    suffix.normalizer_spec.escape_whitespaces = False
    variants["suffix_unescaped"] = suffix
    return {name: proto.SerializeToString() for name, proto in variants.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-tokenizer/tests/golden")
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared/samples")
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    rng = random.Random(0)
    sentences, sentence = corpus(rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_file = tmp / "spiece.model"
        model_file.write_bytes(train(sentences, vocab_size=1000, normalization_rule_name="nmt_nfkc",
                                     character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
        t5_dir = out / "t5"
        shutil.rmtree(t5_dir, ignore_errors=True)
        T5Tokenizer(vocab_file=str(model_file), extra_ids=100, legacy=True).save_pretrained(t5_dir)

        rules_file = tmp / "rules.tsv"
        rules_file.write_text(rules(), encoding="utf-8")
        json_model = tmp / "json_model" / "spiece.model"
        json_model.parent.mkdir()
        json_model.write_bytes(train(sentences, vocab_size=700, normalization_rule_tsv=str(rules_file),
                                     character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
        json_slow_dir = tmp / "json_slow"
        T5Tokenizer(vocab_file=str(json_model), extra_ids=100, legacy=True).save_pretrained(json_slow_dir)
        T5TokenizerFast.from_pretrained(json_slow_dir).save_pretrained(tmp / "json_fast")
        json_dir = out / "t5_json"
        shutil.rmtree(json_dir, ignore_errors=True)
        json_dir.mkdir()
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(tmp / "json_fast" / name, json_dir / name)

        fast = T5TokenizerFast.from_pretrained(t5_dir)
        slow = T5Tokenizer.from_pretrained(t5_dir)
        strings = texts(sample_prompts(args.samples), sentence, lambda s: slow(s).input_ids)

        cases = [
            {"name": "saved_legacy", "base": "t5", "overrides": {}, "kwargs": {}},
            {"name": "saved_nonlegacy", "base": "t5", "overrides": {}, "kwargs": {"legacy": False}},
            {"name": "oldstyle", "base": "t5", "kwargs": {},
             "overrides": {"tokenizer_config.json": json.dumps(OLDSTYLE_CONFIG, indent=2),
                           "special_tokens_map.json": json.dumps(OLDSTYLE_MAP, indent=2),
                           "added_tokens.json": None}},
            {"name": "oldstyle_added_tokens_nonlegacy", "base": "t5", "kwargs": {"legacy": False},
             "overrides": {"tokenizer_config.json": json.dumps(OLDSTYLE_CONFIG, indent=2),
                           "special_tokens_map.json": json.dumps(OLDSTYLE_MAP, indent=2)}},
        ]
        # Flags T5's own tokens never have: single_word, rstrip on </s>, lstrip on <pad>, and a
        # non-special added token.
        custom = json.loads((t5_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        decoder = custom["added_tokens_decoder"]
        by_content = {v["content"]: k for k, v in decoder.items()}
        decoder[by_content["<extra_id_3>"]].update(single_word=True, lstrip=False)
        decoder[by_content["<extra_id_0>"]].update(single_word=True)
        decoder[by_content["</s>"]].update(rstrip=True)
        decoder[by_content["<pad>"]].update(lstrip=True)
        decoder[str(len(decoder) + 997)] = {"content": "VOID", "lstrip": False, "rstrip": False, "normalized": False,
                                           "single_word": False, "special": False}
        cases.append({"name": "custom_flags", "base": "t5", "kwargs": {},
                      "overrides": {"tokenizer_config.json": json.dumps(custom, indent=2)}})
        for i, case in enumerate(cases):
            folder = materialise(out / case["base"], case["overrides"], tmp / f"case{i}")
            tok = T5Tokenizer.from_pretrained(folder, **case["kwargs"])
            case.update(encodings(tok, strings))
            print(f"{case['name']}: legacy={tok.legacy}, {len(tok)} tokens", file=sys.stderr)
        json_case = {"name": "t5_json", "base": "t5_json", "overrides": {}, "kwargs": {}}
        json_case.update(encodings(T5Tokenizer.from_pretrained(json_slow_dir), strings))
        cases.append(json_case)

        fast_ids = [fast(s).input_ids for s in strings]
        differs = [s for s, a, b in zip(strings, fast_ids, cases[0]["ids"]) if a != b]
        print(f"T5TokenizerFast differs from T5Tokenizer on {len(differs)} of {len(strings)} texts",
              file=sys.stderr)

    sp_dir = out / "sentencepiece"
    shutil.rmtree(sp_dir, ignore_errors=True)
    sp_dir.mkdir()
    sp_cases = []
    for name, blob in sentencepiece_variants(sentences[:8000]).items():
        path = sp_dir / f"{name}.model"
        path.write_bytes(blob)
        sp = spm.SentencePieceProcessor(model_file=str(path))
        sp_cases.append({"model": f"sentencepiece/{name}.model",
                         "ids": [sp.encode(s) for s in strings],
                         "pieces": [sp.encode(s, out_type=str) for s in strings]})

    golden = {
        "script": "scripts/golden/tokenizer_goldens.py",
        "versions": {"transformers": transformers.__version__, "sentencepiece": spm.__version__,
                     "tokenizers": tokenizers.__version__, "protobuf": google.protobuf.__version__,
                     "python": platform.python_version()},
        "max_lengths": list(MAX_LENGTHS),
        "texts": strings,
        "tokenizers": cases,
        "fast": {"class": "T5TokenizerFast", "base": "t5", "ids": fast_ids, "differs_from_slow": differs},
        "sentencepiece": sp_cases,
    }
    path = out / "tokenizer_goldens.json"
    path.write_text(json.dumps(golden, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(strings)} texts; wrote {path} ({path.stat().st_size} bytes); goldens total {total} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
