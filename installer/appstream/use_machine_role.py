"""A boto3 script that uses the fleet's machine role through the local agent.

With `service install --set-machine-env` every new process already has the two AWS_CONTAINER_*
variables and boto3 needs nothing at all. Otherwise this reads them from the agent's discovery
file. boto3 then asks the agent for credentials and asks again before they expire, so a
long-running script follows AppStream's hourly refresh. The user running it must be able to read
the token file (Linux: a member of group appstream-creds).
"""
import json
import os

import boto3

DEFAULT_STATE_DIR = r"C:\ProgramData\AppStreamCredentialAgent" if os.name == "nt" else "/var/lib/appstream-credential-agent"

if "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in os.environ:
    state_dir = os.environ.get("APPSTREAM_CREDS_STATE_DIR", DEFAULT_STATE_DIR)
    with open(os.path.join(state_dir, "agent.json"), encoding="utf-8") as f:
        agent = json.load(f)
    os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = agent["credentialsUrl"]
    os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = agent["tokenFile"]

session = boto3.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
print(session.client("sts").get_caller_identity()["Arn"])
