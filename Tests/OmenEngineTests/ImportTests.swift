import Testing
@testable import OmenEngine

/// The CSV load of `omendb import` and COPY FROM: every accepted timestamp form stores the instant it
/// names (read back as epoch seconds, worked out by hand), every bad value is an error with its SQLSTATE,
/// line and column or a counted reject, never a different stored value; header names, column lists and
/// chunk boundaries.
@Suite struct ImportTests {
    static let table = "CREATE TABLE t (ts TIMESTAMP PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, s TEXT)"
    /// 2024-01-01 00:00:00 UTC in seconds since 1970.
    static let newYear = 1_704_067_200.0

    struct Loaded {
        var rows: Int
        var rejects: [CSV.Reject]
        /// The table read back: epoch seconds of ts, then n, x, s.
        var stored: [[Value]]
    }

    /// Loads `csv` into a fresh table as `omendb import` does (one transaction, through a file read in
    /// `chunkSize` pieces): the error, or the counts, the rejects and the rows read back through SQL.
    func load(_ csv: [UInt8], _ options: CSV.Options = CSV.Options(), setup: String = table,
              chunkSize: Int = 1 << 22) throws -> Result<Loaded, SQLError> {
        let scratch = try ScratchSession(setup)
        defer { scratch.close() }
        let path = scratch.directory.file("input.csv")
        RawFile.write(path, csv)
        let transaction = try scratch.database.begin()
        var rejects: [CSV.Reject] = []
        var loader = try Loader(scratch.database, options)
        do throws(SQLError) {
            try loader.load(file: path, chunkSize: chunkSize, insert: { (batch) throws(SQLError) in
                do throws(EngineError) { try transaction.insert("t", batch: batch) } catch { throw SQLError(error) }
            }, progress: { _, _ in }, reject: { rejects.append($0) })
            do throws(EngineError) { try transaction.commit() } catch { throw SQLError(error) }
        } catch {
            transaction.rollback()
            #expect(try scratch.session.execute("SELECT count(*) FROM t")[0].rows == [[.int64(0)]], "all or nothing")
            return .failure(error)
        }
        let stored = try scratch.session.execute("SELECT extract(epoch FROM ts), n, x, s FROM t ORDER BY ts")[0].rows
        return .success(Loaded(rows: loader.rows, rejects: rejects, stored: stored))
    }

    /// The CSV loader over table t.
    func Loader(_ database: Database, _ options: CSV.Options) throws(SQLError) -> CSV.Loader {
        let schema: TableSchema
        do throws(EngineError) { schema = try database.schema("t") } catch { throw SQLError(error) }
        return try CSV.Loader(schema: schema, options: options)
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The SQLSTATE a load fails with, and its message.
    func failure(_ csv: [UInt8], _ options: CSV.Options = CSV.Options()) throws -> SQLError? {
        do {
            if case .failure(let error) = try load(csv, options) { return error }
        } catch let error as SQLError { return error }
        return nil
    }

    static let accepted: [(String, Double)] = [
        ("2024-01-01", newYear),
        ("2024-01-01 12:30", newYear + 45_000),
        ("2024-01-01 12:30:15", newYear + 45_015),
        ("2024-1-1 9:05:00", newYear + 32_700),
        ("2024-01-01T12:30:15", newYear + 45_015),
        ("2024-01-01T12:30:15Z", newYear + 45_015),
        ("2024-01-01 12:30:15.25", newYear + 45_015.25),
        ("2024-01-01 12:30:15.1234567", newYear + 45_015.123457),
        ("2024-01-01 12:30:15+02:00", newYear + 45_015 - 7_200),
        ("2024-01-01 12:30:15 +02", newYear + 45_015 - 7_200),
        ("2024-01-01T12:30:15-0530", newYear + 45_015 + 19_800),
        ("2024/01/01 12:30", newYear + 45_000),
        ("2024/01/01 12:30:15", newYear + 45_015),
        ("2024-02-29 00:00:00", newYear + 59 * 86_400),
        (" 2024-01-01 00:00:01 ", newYear + 1),
    ]

    @Test(arguments: accepted)
    func acceptedTimestamps(text: String, epoch: Double) throws {
        let loaded = try load(bytes("\"\(text)\",1,1,a\n")).get()
        #expect(loaded.stored == [[.double(epoch), .int64(1), .double(1), .text("a")]], "\(text)")
    }

    @Test(arguments: [
        ("2024-02-30", "22008"), ("2023-02-29 00:00", "22008"), ("2024-13-01", "22008"), ("2024-00-10", "22008"),
        ("2024-01-01 25:00", "22008"), ("2024-01-01 12:60", "22008"), ("2024-01-01 12:00:61", "22008"),
        ("2024-01-01 12:00+16:00", "22008"), ("1704067200", "22007"), ("01/02/2024", "22007"),
        ("2024-01-01x", "22007"), ("2024-01/01", "22007"), ("2024-01-01 12", "22007"), ("", "23502"),
    ])
    func rejectedTimestamps(text: String, code: String) throws {
        let error = try failure(bytes("n,ts\n7,\(text)\n"), CSV.Options(header: .match))
        #expect(error?.code == code, "\(text): \(String(describing: error))")
        if code != "23502" { #expect(error?.message.contains("(line 2, column ts)") == true, "\(String(describing: error))") }
    }

    static let formatted: [(String, String, Double)] = [
        ("%d.%m.%Y %H:%M", "31.12.2023 23:59", newYear - 60),
        ("%m/%d/%Y %H:%M:%S.%f", "01/01/2024 00:00:01.5", newYear + 1.5),
        ("%Y%m%dT%H%M%S%z", "20240101T020000+0200", newYear),
        ("epoch-s", "1704067200", newYear),
        ("epoch-s", "1704067200.25", newYear + 0.25),
        ("epoch-s", "-1", -1),
        ("epoch-ms", "1704067200123", newYear + 0.123),
        ("epoch-us", "1704067200123456", newYear + 0.123456),
    ]

    @Test(arguments: formatted)
    func timestampFormats(format: String, text: String, epoch: Double) throws {
        let options = CSV.Options(timestampFormat: try #require(TimestampFormat(format)))
        let loaded = try load(bytes("\(text),1,1,a\n"), options).get()
        guard case .double(let stored)? = loaded.stored.first?.first else {
            Issue.record("\(loaded.stored)")
            return
        }
        #expect(abs(stored - epoch) < 1e-6, "\(format) \(text): \(loaded.stored)")
    }

    @Test(arguments: [
        ("%d.%m.%Y %H:%M", "32.12.2023 00:00", "22008"), ("%d.%m.%Y %H:%M", "2023-12-31 00:00", "22007"),
        ("%d.%m.%Y", "31.12.2023 00:00", "22007"), ("epoch-s", "2024-01-01", "22007"),
        ("epoch-s", "99999999999999", "22008"), ("epoch-us", "1e6", "22007"), ("epoch-ms", "", "23502"),
    ])
    func rejectedFormattedTimestamps(format: String, text: String, code: String) throws {
        let options = CSV.Options(timestampFormat: try #require(TimestampFormat(format)))
        let error = try failure(bytes("\(text),1,1,a\n"), options)
        #expect(error?.code == code, "\(format) \(text): \(String(describing: error))")
    }

    @Test func formatsThatAreNoFormats() {
        for text in ["%H:%M", "%Y-%m", "%Y-%m-%d %q", "%Y-%Y-%m-%d", "epoch", "%Y-%m-%d %"] {
            #expect(TimestampFormat(text) == nil, "\(text)")
        }
    }

    @Test(arguments: [
        ("9223372036854775808", "1", "22003", "n"), ("-9223372036854775809", "1", "22003", "n"),
        ("1.5", "1", "22P02", "n"), ("12a", "1", "22P02", "n"), ("\"\"", "1", "22P02", "n"),
        ("1", "1e400", "22003", "x"), ("1", "-1e400", "22003", "x"), ("1", "1e-400", "22003", "x"),
        ("1", "1.2.3", "22P02", "x"), ("1", "0x", "22P02", "x"),
    ])
    func badNumbers(n: String, x: String, code: String, column: String) throws {
        let error = try failure(bytes("2024-01-01,1,1,a\n2024-01-02,\(n),\(x),b\n"))
        #expect(error?.code == code && error?.message.contains("(line 2, column \(column))") == true, "\(String(describing: error))")
    }

    @Test func numbersAtTheirLimits() throws {
        let csv = "2024-01-01,9223372036854775807,1.7976931348623157e308,a\n"
            + "2024-01-02,-9223372036854775808,-0.000001,b\n2024-01-03, 42 ,NaN,c\n2024-01-04,+7,-Infinity,d\n"
            + "2024-01-05,0,123456789012345678901234567890,e\n2024-01-06,0,4.9e-324,f\n"
        let stored = try load(bytes(csv)).get().stored
        #expect(stored.map { $0[1] } == [.int64(.max), .int64(.min), .int64(42), .int64(7), .int64(0), .int64(0)])
        #expect(stored.map { $0[2] } == [.double(.greatestFiniteMagnitude), .double(-0.000001), .double(.nan),
                                          .double(-.infinity), .double(1.2345678901234568e29), .double(4.9e-324)])
    }

    @Test func invalidUTF8IsRefused() throws {
        for field in [[0xFF], [0x61, 0xC3], [0xE2, 0x28, 0xA1], [0xED, 0xA0, 0x80], [0x61, 0x00]] as [[UInt8]] {
            let error = try failure(bytes("2024-01-01,1,1,") + field + bytes("\n"))
            #expect(error?.code == "22021" && error?.message.contains("(line 1, column s)") == true, "\(field): \(String(describing: error))")
        }
        let stored = try load(bytes("2024-01-01,1,1,\"zoë, 東京\"\n")).get().stored
        #expect(stored.first?.last == .text("zoë, 東京"))
    }

    @Test func headerNamesMatchColumns() throws {
        let csv = "s,x,ts\nfirst,2.5,2024-01-01\n\"second, quoted\",,2024-01-02\n"
        let stored = try load(bytes(csv), CSV.Options(header: .match)).get().stored
        #expect(stored == [[.double(Self.newYear), .null, .double(2.5), .text("first")],
                           [.double(Self.newYear + 86_400), .null, .null, .text("second, quoted")]])
        let unknown = try failure(bytes("ts,temp\n2024-01-01,1\n"), CSV.Options(header: .match))
        #expect(unknown?.code == "42703" && unknown?.message.contains("\"temp\"") == true, "\(String(describing: unknown))")
        let noKey = try failure(bytes("n,s\n1,a\n"), CSV.Options(header: .match))
        #expect(noKey?.code == "23502" && noKey?.message.contains("\"ts\"") == true, "\(String(describing: noKey))")
        let twice = try failure(bytes("ts,n,n\n2024-01-01,1,2\n"), CSV.Options(header: .match))
        #expect(twice?.code == "42701", "\(String(describing: twice))")
        let skipped = try load(bytes("whatever,names\n2024-01-01,1,1,a\n"), CSV.Options(header: .skip)).get()
        #expect(skipped.rows == 1 && skipped.stored.first?[1] == .int64(1))
    }

    @Test func columnList() throws {
        let stored = try load(bytes("5,2024-01-01 00:00:05\n"), CSV.Options(columns: ["n", "ts"])).get().stored
        #expect(stored == [[.double(Self.newYear + 5), .int64(5), .null, .null]])
        let mismatch = try failure(bytes("ts,x\n2024-01-01,1\n"), CSV.Options(columns: ["ts", "n"], header: .match))
        #expect(mismatch?.code == "22P04" && mismatch?.message.contains("got \"x\", expected \"n\"") == true, "\(String(describing: mismatch))")
        let matched = try load(bytes("ts,n\n2024-01-01,3\n"), CSV.Options(columns: ["ts", "n"], header: .match)).get()
        #expect(matched.stored.first?[1] == .int64(3))
        let unknown = try failure(bytes("1\n"), CSV.Options(columns: ["ts", "nope"]))
        #expect(unknown?.code == "42703" && unknown?.message.contains("\"nope\"") == true)
    }

    @Test func recordShapes() throws {
        let short = try failure(bytes("2024-01-01,1,1,a\n2024-01-02,1\n"))
        #expect(short?.code == "22P04" && short?.message.contains("missing data for column \"x\" (line 2)") == true, "\(String(describing: short))")
        let long = try failure(bytes("2024-01-01,1,1,a,b\n"))
        #expect(long?.code == "22P04" && long?.message.contains("extra data") == true, "\(String(describing: long))")
        let open = try failure(bytes("2024-01-01,1,1,\"never closed\n"))
        #expect(open?.code == "22P04", "\(String(describing: open))")
        let duplicate = try failure(bytes("2024-01-01,1,1,a\n2024-01-01,2,2,b\n"))
        #expect(duplicate?.code == "23505", "\(String(describing: duplicate))")
    }

    @Test func skipCountsAndReportsRejects() throws {
        let csv = "ts,n,x,s\n2024-01-01,1,1,ok\n2024-02-30,2,2,bad date\n2024-01-03,3,3,\"multi\nline\"\n"
            + "2024-01-04,x,4,bad n\n2024-01-05,5\n2024-01-06,6,6,ok\n"
        let loaded = try load(bytes(csv), CSV.Options(header: .match, onError: .skip)).get()
        #expect(loaded.rows == 3 && loaded.rejects.count == 3)
        #expect(loaded.stored.map { $0[1] } == [.int64(1), .int64(3), .int64(6)])
        #expect(loaded.stored[1][3] == .text("multi\nline"))
        let summary = loaded.rejects.map { "\($0.line) \($0.column ?? "-") \($0.error.code) \(String(decoding: $0.record, as: UTF8.self))" }
        #expect(summary == ["3 ts 22008 2024-02-30,2,2,bad date", "6 n 22P02 2024-01-04,x,4,bad n", "7 x 22P04 2024-01-05,5"])
    }

    /// The file read in pieces as small as one byte stores what one piece stores: records, quoted fields
    /// with newlines and quotes, CRLF line ends and rejects cut anywhere.
    @Test func chunkBoundaries() throws {
        var csv = "ts,n,x,s\r\n"
        for i in 0..<40 {
            let text = i % 3 == 0 ? "\"q\"\"\(i)\r\nend\"" : i % 3 == 1 ? "" : "plain \(i)"
            csv += "2024-01-01 00:00:\(i < 10 ? "0" : "")\(i),\(i % 7 == 0 ? "bad" : String(i)),\(Double(i) / 8),\(text)\r\n"
        }
        let options = CSV.Options(header: .match, onError: .skip)
        let whole = try load(bytes(csv), options).get()
        #expect(whole.rows == 34 && whole.rejects.count == 6)
        for chunk in [1, 2, 3, 7, 64] {
            let pieces = try load(bytes(csv), options, chunkSize: chunk).get()
            #expect(pieces.stored == whole.stored && pieces.rejects.map(\.line) == whole.rejects.map(\.line), "chunk \(chunk)")
        }
    }

    /// COPY FROM shares the load: the same errors, header match and column lists.
    @Test func copyFromSharesTheLoad() throws {
        let scratch = try ScratchSession(Self.table)
        defer { scratch.close() }
        let session = scratch.session
        do throws(SQLError) {
            _ = try session.execute("COPY t FROM STDIN", copyData: bytes("2024-02-30,1,1,a\n"))
            Issue.record("2024-02-30 was stored")
        } catch { #expect(error.code == "22008") }
        let result = try session.execute("COPY t (n, ts) FROM STDIN WITH (HEADER MATCH)", copyData: bytes("n,ts\n4,2024/01/01 00:00\n"))
        #expect(result[0].tag == "COPY 1")
        let stored = try session.execute("SELECT extract(epoch FROM ts), n, x FROM t")[0].rows
        #expect(stored == [[.double(Self.newYear), .int64(4), .null]])
    }

    /// COPY's text format: tabs between fields, `\N` for NULL, backslash escapes (PostgreSQL's list,
    /// octal and hex included), `\.` ending the data; COPY TO writes what COPY FROM reads back.
    @Test func copyTextFormat() throws {
        let scratch = try ScratchSession(Self.table)
        defer { scratch.close() }
        let session = scratch.session
        let data = "2024-01-01 00:00:00\t1\t\\N\ttab\\there\r\n2024-01-01 00:00:01\t\\N\t2.5\t\\\\N, \\101\\x42\\q \"x\"\n"
            + "2024-01-01 00:00:02\t3\t-0\t\n\\.\nnot read\n"
        #expect(try session.execute("COPY t FROM STDIN (FORMAT text)", copyData: bytes(data))[0].tag == "COPY 3")
        let stored = try session.execute("SELECT n, x, s FROM t ORDER BY ts")[0].rows
        #expect(stored == [[.int64(1), .null, .text("tab\there")], [.null, .double(2.5), .text("\\N, ABq \"x\"")],
                           [.int64(3), .double(-0.0), .text("")]])
        let out = try session.execute("COPY t TO STDOUT (FORMAT text)")[0].copyData ?? []
        _ = try session.execute("DELETE FROM t")
        _ = try session.execute("COPY t FROM STDIN (FORMAT text)", copyData: out)
        #expect(try session.execute("SELECT n, x, s FROM t ORDER BY ts")[0].rows == stored)
        do throws(SQLError) {
            _ = try session.execute("COPY t FROM STDIN (FORMAT text)", copyData: bytes("2024-01-02 00:00:00\t1\t1\tends in \\"))
            Issue.record("a lone backslash was read")
        } catch { #expect(error.code == "22P04") }
    }
}
