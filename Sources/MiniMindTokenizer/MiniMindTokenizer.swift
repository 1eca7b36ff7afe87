// Byte-level BPE tokenizer, BPE trainer and chat templates (Hugging Face tokenizer.json semantics).
