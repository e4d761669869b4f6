"""The baseline for bench/load.py: the smallest Flask app, served by the same gunicorn settings in the same run."""
from flask import Flask, request

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


@app.post("/")
def echo():
    """Reads the JSON body as the real endpoint does, so the baseline pays for the upload and parsing too."""
    body = request.get_json(silent=True) or {}
    return {"received": len(body)}, 201
