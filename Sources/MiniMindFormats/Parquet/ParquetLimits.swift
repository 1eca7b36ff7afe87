/// Upper bounds that keep a hostile or corrupt file from driving huge allocations. The defaults are
/// far above what Parquet writers produce (pyarrow pages are about 1 MB and 20,000 values).
public struct ParquetLimits: Sendable {
    /// Largest footer (file metadata) accepted, in bytes.
    public var maxFooterBytes: Int = 64 << 20
    /// Largest page accepted, compressed or decompressed, in bytes.
    public var maxPageBytes: Int = 512 << 20
    /// Largest page header accepted, in bytes (headers may carry statistics).
    public var maxPageHeaderBytes: Int = 16 << 20
    /// Most values (including nulls) accepted in one page.
    public var maxValuesPerPage: Int = 1 << 24

    public init() {}
}
