"""The SQLite yardstick for bench/intake: the same rows as one submission (the customer
lookup, then the case, its contact, its access token and its acknowledgement job), one
transaction each, through Python's sqlite3 on a copy of the database Muster used, with
Muster's settings (WAL, synchronous=FULL, busy timeout). SQLite has one writer, so one
writer thread is its limit; the statements are prepared once, as Muster's are.

Usage: yardstick_sqlite.py DB INCIDENT_ID PAYLOAD_FILE SECONDS
Prints: SUBMISSIONS_PER_S <n>  P99_MS <x>"""
import hashlib, sqlite3, sys, time

db, incident, payload_file, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
payload = open(payload_file).read()
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("PRAGMA busy_timeout = 5000")
lookup = ("SELECT * FROM cases WHERE id IN (SELECT id FROM cases WHERE incident_id = ? AND email IN (?) "
          "UNION ALL SELECT id FROM cases WHERE incident_id = ? AND booking_ref IN (?)) "
          "AND status <> 'resolved' ORDER BY created_at")
insert_case = ("INSERT INTO cases (incident_id, reference, customer_name, email, phone, booking_ref, departure_date, "
               "request_type, team, language, status, channel, idempotency_key, contact_count, created_at, updated_at) "
               "VALUES (?, ?, 'Bench Customer', ?, NULL, ?, date('now', '+5 days'), 'refund', NULL, 'en', 'open', 'form', "
               "NULL, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now')) RETURNING id")
insert_contact = ("INSERT INTO contacts (case_id, direction, channel, external_id, author_id, body, meta, created_at) "
                  "VALUES (?, 'inbound', 'form', ?, NULL, 'Please refund my ticket', '{}', strftime('%Y-%m-%d %H:%M:%f', 'now'))")
insert_token = ("INSERT INTO case_tokens (case_id, token_hash, scope, created_at) "
                "VALUES (?, ?, 'full', strftime('%Y-%m-%d %H:%M:%f', 'now'))")
insert_job = ("INSERT INTO mail_queue (case_id, kind, recipient, payload, status, attempts, next_attempt_at, created_at) "
              "VALUES (?, 'acknowledgement', ?, ?, 'pending', 0, strftime('%Y-%m-%d %H:%M:%f', 'now'), "
              "strftime('%Y-%m-%d %H:%M:%f', 'now'))")
latencies = []
n = 0
deadline = time.monotonic() + seconds
started = time.monotonic()
while time.monotonic() < deadline:
    n += 1
    t0 = time.monotonic()
    email, booking = f"y{n}@example.com", f"YB{n}"
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(lookup, (incident, email, incident, booking)).fetchall()
    case_id = conn.execute(insert_case, (incident, f"Y-{n}-{time.time_ns()}", email, booking)).fetchone()[0]
    conn.execute(insert_contact, (case_id, f"form:{n}-{time.time_ns()}"))
    conn.execute(insert_token, (case_id, hashlib.sha256(f"t{case_id}-{time.time_ns()}".encode()).hexdigest()))
    conn.execute(insert_job, (case_id, email, payload))
    conn.execute("COMMIT")
    latencies.append(time.monotonic() - t0)
elapsed = time.monotonic() - started
latencies.sort()
print(f"SUBMISSIONS_PER_S {n / elapsed:.0f}")
print(f"P99_MS {latencies[int((len(latencies) - 1) * 0.99)] * 1000:.2f}")
