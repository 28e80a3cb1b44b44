#!/usr/bin/env python3
"""A stand-in for the messaging providers Muster talks to, on one local port, following each
provider's documented HTTP contract (Python standard library only):

- Twilio Programmable Messaging: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with
  HTTP basic auth (account SID, auth token), form-encoded To/From/Body/StatusCallback;
  answers 201 with the message resource (sid "SM" + 32 hex digits), then POSTs the
  StatusCallback (sent, then delivered or undelivered), form-encoded and signed with
  X-Twilio-Signature (base64 HMAC-SHA1 of the URL followed by the sorted parameters).
- WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages with a bearer token;
  answers {"messaging_product","contacts","messages":[{"id":"wamid..."}]}, then POSTs the
  statuses (sent, delivered, read) to the app's webhook, signed X-Hub-Signature-256.
- Telegram Bot API: POST /bot{token}/sendMessage and /bot{token}/setWebhook; answers
  {"ok":true,"result":...}, or {"ok":false,"error_code":401,...} for a wrong token.

Every request to a provider endpoint is recorded as one JSON line in --log, with whether
its credentials were right. A test plays the provider's inbound side through
POST /_standin/{twilio,whatsapp,telegram}/inbound: the stand-in signs the message as the
provider would and delivers it to Muster, answering with Muster's status and body.

--hold-when TEXT --hold-seconds N: a send whose text contains TEXT is recorded at once and
answered only N seconds later (a provider slow to answer, so a test can kill Muster
mid-send).
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature: the full URL, then each POST parameter's name and value in name
    order, HMAC-SHA1 with the auth token, base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def hub_signature(app_secret, body):
    """X-Hub-Signature-256: sha256= and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")
    except OSError as err:
        return 0, str(err)


class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.telegram_ids = 0

    def record(self, entry):
        entry["at"] = time.time()
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def next_telegram_id(self):
        with self.lock:
            self.telegram_ids += 1
            return self.telegram_ids


def later(seconds, action):
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    args = None
    recorder = None

    def log_message(self, fmt, *values):
        sys.stderr.write("standin: " + (fmt % values) + "\n")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away mid-answer (a test killed it): nothing to tell.
            pass

    def hold(self, text):
        if self.args.hold_when and self.args.hold_when in text:
            time.sleep(self.args.hold_seconds)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        parts = path.strip("/").split("/")
        if path.startswith("/_standin/"):
            return self.inbound(parts[1], raw)
        if len(parts) == 4 and parts[:2] == ["2010-04-01", "Accounts"] \
                and parts[3] == "Messages.json":
            return self.twilio_send(parts[2], raw)
        if len(parts) == 3 and parts[2] == "messages":
            return self.graph_send(parts[1], raw)
        if len(parts) == 2 and parts[0].startswith("bot"):
            return self.telegram(parts[0][3:], parts[1], raw)
        self.answer(404, {"error": "no such endpoint: " + path})

    # Twilio -------------------------------------------------------------------------
    def twilio_send(self, account_sid, raw):
        a = self.args
        expected = "Basic " + base64.b64encode(
            f"{a.twilio_sid}:{a.twilio_token}".encode()).decode()
        authenticated = (account_sid == a.twilio_sid
                         and hmac.compare_digest(self.headers.get("Authorization", ""), expected))
        form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        field = lambda name: (form.get(name) or [""])[0]
        entry = {"provider": "twilio", "authenticated": authenticated, "to": field("To"),
                 "from": field("From") or field("MessagingServiceSid"), "body": field("Body"),
                 "status_callback": field("StatusCallback")}
        if not authenticated:
            self.recorder.record(entry)
            return self.answer(401, {"code": 20003, "message": "Authenticate",
                                     "more_info": "https://www.twilio.com/docs/errors/20003",
                                     "status": 401})
        if field("To") in a.invalid_numbers:
            entry["refused"] = 21211
            self.recorder.record(entry)
            return self.answer(400, {
                "code": 21211,
                "message": f"The 'To' number {field('To')} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
        sid = "SM" + secrets.token_hex(16)
        entry["id"] = sid
        self.recorder.record(entry)
        self.hold(field("Body"))
        self.answer(201, {
            "account_sid": account_sid, "api_version": "2010-04-01", "body": field("Body"),
            "direction": "outbound-api", "from": field("From"), "to": field("To"),
            "num_segments": "1", "sid": sid, "status": "queued", "error_code": None,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"})
        callback = field("StatusCallback")
        if callback:
            final = "undelivered" if field("To") in a.undeliverable_numbers else "delivered"
            later(a.callback_delay, lambda: self.twilio_status(callback, sid, field("To"), "sent"))
            later(a.callback_delay * 2,
                  lambda: self.twilio_status(callback, sid, field("To"), final))

    def twilio_status(self, url, sid, to, status):
        params = [("AccountSid", self.args.twilio_sid), ("ApiVersion", "2010-04-01"),
                  ("From", self.args.twilio_from), ("MessageSid", sid),
                  ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status), ("To", to)]
        if status == "undelivered":
            params.append(("ErrorCode", "30003"))
        body = urllib.parse.urlencode(params).encode()
        signature = twilio_signature(self.args.twilio_token, url, params)
        post(url, body, {"Content-Type": "application/x-www-form-urlencoded",
                         "X-Twilio-Signature": signature})

    # WhatsApp -----------------------------------------------------------------------
    def graph_send(self, phone_number_id, raw):
        a = self.args
        authenticated = (phone_number_id == a.graph_phone_id and hmac.compare_digest(
            self.headers.get("Authorization", ""), "Bearer " + a.graph_token))
        try:
            message = json.loads(raw)
        except ValueError:
            message = {}
        text = (message.get("text") or {}).get("body", "")
        entry = {"provider": "whatsapp", "authenticated": authenticated,
                 "to": message.get("to", ""), "type": message.get("type", ""), "body": text,
                 "template": (message.get("template") or {}).get("name")}
        if not authenticated:
            self.recorder.record(entry)
            return self.answer(401, {"error": {"message": "Invalid OAuth access token.",
                                               "type": "OAuthException", "code": 190,
                                               "fbtrace_id": "AbCdEf"}})
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        entry["id"] = wamid
        self.recorder.record(entry)
        self.hold(text)
        self.answer(200, {"messaging_product": "whatsapp",
                          "contacts": [{"input": message.get("to"), "wa_id": message.get("to")}],
                          "messages": [{"id": wamid}]})
        if a.whatsapp_webhook:
            for step, status in enumerate(["sent", "delivered", "read"], start=1):
                later(a.callback_delay * step,
                      lambda status=status: self.graph_status(wamid, message.get("to"), status))

    def graph_status(self, wamid, to, status):
        notification = {"object": "whatsapp_business_account", "entry": [{
            "id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881",
                             "phone_number_id": self.args.graph_phone_id},
                "statuses": [{"id": wamid, "status": status,
                              "timestamp": str(int(time.time())), "recipient_id": to}]}}]}]}
        body = json.dumps(notification).encode()
        post(self.args.whatsapp_webhook, body, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": hub_signature(self.args.graph_app_secret, body)})

    # Telegram -----------------------------------------------------------------------
    def telegram(self, token, method, raw):
        authenticated = hmac.compare_digest(token, self.args.telegram_token)
        try:
            call = json.loads(raw)
        except ValueError:
            call = {}
        entry = {"provider": "telegram", "authenticated": authenticated, "method": method,
                 "to": str(call.get("chat_id", "")), "body": call.get("text", ""),
                 "url": call.get("url"), "secret_token": call.get("secret_token")}
        if not authenticated:
            self.recorder.record(entry)
            return self.answer(401, {"ok": False, "error_code": 401,
                                     "description": "Unauthorized"})
        if method == "setWebhook":
            self.recorder.record(entry)
            return self.answer(200, {"ok": True, "result": True,
                                     "description": "Webhook was set"})
        if method != "sendMessage":
            return self.answer(404, {"ok": False, "error_code": 404,
                                     "description": "Not Found: method not found"})
        message_id = self.recorder.next_telegram_id()
        entry["id"] = message_id
        self.recorder.record(entry)
        self.hold(call.get("text", ""))
        self.answer(200, {"ok": True, "result": {
            "message_id": message_id, "date": int(time.time()), "text": call.get("text", ""),
            "from": {"id": 123, "is_bot": True, "first_name": "Muster", "username": "muster_bot"},
            "chat": {"id": call.get("chat_id"), "type": "private"}}})

    # The providers' inbound side, played for a test -----------------------------------
    def inbound(self, provider, raw):
        request = json.loads(raw)
        url = request["url"]
        if provider == "twilio":
            params = [("AccountSid", self.args.twilio_sid), ("ApiVersion", "2010-04-01"),
                      ("Body", request["body"]), ("From", request["from"]),
                      ("MessageSid", request.get("sid") or "SM" + secrets.token_hex(16)),
                      ("NumMedia", "0"), ("NumSegments", "1"),
                      ("SmsMessageSid", request.get("sid", "")),
                      ("To", self.args.twilio_from)]
            token = request.get("sign_with", self.args.twilio_token)
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": twilio_signature(token, url, params)}
            body = urllib.parse.urlencode(params).encode()
        elif provider == "whatsapp":
            notification = {"object": "whatsapp_business_account", "entry": [{
                "id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881",
                                 "phone_number_id": self.args.graph_phone_id},
                    "contacts": [{"profile": {"name": request.get("name", "")},
                                  "wa_id": request["from"]}],
                    "messages": [{"from": request["from"],
                                  "id": request.get("id") or
                                  "wamid." + base64.b64encode(secrets.token_bytes(24)).decode(),
                                  "timestamp": str(int(time.time())), "type": "text",
                                  "text": {"body": request["body"]}}]}}]}]}
            body = json.dumps(notification).encode()
            secret = request.get("sign_with", self.args.graph_app_secret)
            headers = {"Content-Type": "application/json",
                       "X-Hub-Signature-256": hub_signature(secret, body)}
        elif provider == "telegram":
            chat_id = int(request["from"])
            update = {"update_id": request.get("update_id") or secrets.randbelow(10**9),
                      "message": {"message_id": request.get("message_id") or
                                  secrets.randbelow(10**6),
                                  "date": int(time.time()), "text": request["body"],
                                  "from": {"id": chat_id, "is_bot": False,
                                           "first_name": request.get("name", "Kari"),
                                           "username": request.get("username")},
                                  "chat": {"id": chat_id, "type": "private",
                                           "first_name": request.get("name", "Kari")}}}
            body = json.dumps(update).encode()
            headers = {"Content-Type": "application/json",
                       "X-Telegram-Bot-Api-Secret-Token":
                           request.get("sign_with", self.args.telegram_secret)}
        else:
            return self.answer(404, {"error": "no such provider: " + provider})
        status, answer = post(url, body, headers)
        self.answer(200, {"status": status, "body": answer,
                          "sent": body.decode("utf-8"), "headers": headers})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True, help="JSON lines of every send")
    parser.add_argument("--twilio-sid", default="AC00000000000000000000000000000001")
    parser.add_argument("--twilio-token", default="twilio-auth-token")
    parser.add_argument("--twilio-from", default="+4759440000")
    parser.add_argument("--invalid-numbers", nargs="*", default=["+15005550001"])
    parser.add_argument("--undeliverable-numbers", nargs="*", default=[])
    parser.add_argument("--graph-token", default="graph-access-token")
    parser.add_argument("--graph-app-secret", default="graph-app-secret")
    parser.add_argument("--graph-phone-id", default="106540352242922")
    parser.add_argument("--whatsapp-webhook", default="")
    parser.add_argument("--telegram-token", default="123456:telegram-bot-token")
    parser.add_argument("--telegram-secret", default="telegram-secret-token")
    parser.add_argument("--callback-delay", type=float, default=0.3)
    parser.add_argument("--hold-when", default="")
    parser.add_argument("--hold-seconds", type=float, default=0)
    args = parser.parse_args()
    Handler.args = args
    Handler.recorder = Recorder(args.log)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"standin listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
