@_exported import MiniMindTensor
