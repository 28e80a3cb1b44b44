"""The stand-in's signatures against the providers' published examples: if these pass, a
request the stand-in signs is signed as the provider signs it."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from standin import hub_signature, twilio_signature  # noqa: E402


class PublishedExamples(unittest.TestCase):
    def test_twilio_request_validation_example(self):
        # Twilio's "Validating requests" example: auth token 12345.
        params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"),
                  ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212")]
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        self.assertEqual(twilio_signature("12345", url, params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        # The order the parameters arrive in does not matter: they are sorted by name.
        self.assertEqual(twilio_signature("12345", url, list(reversed(params))),
                         "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")

    def test_x_hub_signature_256_example(self):
        # The published example of the X-Hub-Signature-256 scheme (HMAC-SHA256 of the raw
        # body with the secret, hex, after "sha256=").
        self.assertEqual(
            hub_signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


if __name__ == "__main__":
    unittest.main()
