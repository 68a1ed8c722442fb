"""Model server for the image example: MLflow-style REST predictions on port 5000."""

import os
import pickle

from flask import Flask, jsonify, request

MODEL_PATH = os.environ.get("MODEL_PATH", "/app/models/classifier.pkl")

app = Flask(__name__)
# A pickle runs code when it is loaded: whoever can replace this file owns the container.
with open(MODEL_PATH, "rb") as f:
    model = pickle.load(f)


@app.post("/invocations")
def invocations():
    rows = request.get_json(force=True)["inputs"]
    return jsonify(predictions=[int(p) for p in model.predict(rows)])


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
