import Foundation
#if canImport(CBLAS)
import CBLAS
#endif

/// LAPACKE routines (Linux: the system's liblapacke over OpenBLAS).
public enum LAPACK {
    public struct Failure: Error, CustomStringConvertible {
        public let routine: String
        public let info: Int
        public var description: String {
            info > 0 ? "\(routine) did not converge (info \(info))" : "\(routine): argument \(-info) is invalid"
        }
    }

    /// The thin SVD A = U·diag(S)·Vᵀ of a row-major A [m, n] by divide and conquer (`sgesdd`):
    /// U [m, k], S [k] descending, Vᵀ [k, n], k = min(m, n), all row-major.
    public static func svd(_ a: UnsafePointer<Float>, rows m: Int, cols n: Int) throws -> (u: [Float], s: [Float], vt: [Float]) {
        let k = Swift.min(m, n)
        var work = Array(UnsafeBufferPointer(start: a, count: m * n))  // sgesdd overwrites A
        var s = [Float](repeating: 0, count: k), u = [Float](repeating: 0, count: m * k), vt = [Float](repeating: 0, count: k * n)
        guard k > 0 else { return (u, s, vt) }
        #if canImport(CBLAS)
        let info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), &work, Int32(n),
                                  &s, &u, Int32(k), &vt, Int32(n))
        guard info == 0 else { throw Failure(routine: "LAPACKE_sgesdd", info: Int(info)) }
        return (u, s, vt)
        #else
        throw Failure(routine: "LAPACKE_sgesdd (not linked on this platform)", info: -1)
        #endif
    }
}
