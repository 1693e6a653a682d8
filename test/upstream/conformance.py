"""An upstream system in Python, written from docs/events.md alone: it signs
and publishes a request for the image at IMAGE_URL, then prints the first
outcome about that image as one line of JSON. The two examples of the docs
appear here verbatim (test/upstream/conformance.test.ts checks that they do).
"""
import os

brokers = os.environ["KAFKA_BROKERS"]  # e.g. 127.0.0.1:19092
topic = os.environ["INGEST_TOPIC"]  # ingest.requested, with the deployment's namespace prefix if it has one
outcomes_topic = os.environ["OUTCOMES_TOPIC"]  # progimage.outcomes.v1, likewise
group = os.environ["OUTCOMES_GROUP"]  # this application's consumer group
tenant = os.environ["TENANT"]
key_id = os.environ["KEY_ID"]  # both printed by: npm run admin -- ingest-credential create TENANT
secret = os.environ["SECRET"]
url = os.environ["IMAGE_URL"]

import base64, hashlib, hmac, json, time, uuid
from datetime import datetime, timezone
from confluent_kafka import Consumer, Producer

image_id = str(uuid.uuid4())
value = json.dumps({"eventId": str(uuid.uuid4()), "type": "ingest.requested", "schemaVersion": 1, "imageId": image_id, "tenant": tenant,
                    "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "payload": {"url": url}}).encode()
timestamp = str(int(time.time()))
signed = f"progimage-ingest-v1\n{key_id}\n{timestamp}\n{topic}\n".encode() + value
signature = base64.urlsafe_b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).rstrip(b"=").decode()
producer = Producer({"bootstrap.servers": brokers})
producer.produce(topic, key=image_id, value=value, headers={"progimage-key-id": key_id, "progimage-timestamp": timestamp, "progimage-signature": signature})
producer.flush()

consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest"})
consumer.subscribe([outcomes_topic])
while True:
    message = consumer.poll(1.0)
    if message is not None and message.error() is None:
        outcome = json.loads(message.value())  # dedupe on outcome["eventId"]: an outcome may come twice
        if outcome["imageId"] == image_id:
            print(json.dumps(outcome))
            break
consumer.close()
