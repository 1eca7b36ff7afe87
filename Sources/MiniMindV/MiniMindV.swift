// Umbrella module: one `import MiniMindV` gives the tensor engine, formats and tokenizer too.
@_exported import MiniMindTensor
@_exported import MiniMindFormats
@_exported import MiniMindTokenizer
