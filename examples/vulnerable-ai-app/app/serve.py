"""Sentiment model server for the demo."""

import os
import pickle

import gradio as gr
import torch
import yaml
from transformers import AutoModelForSequenceClassification

CONFIG = yaml.load(open("config.yaml"), Loader=yaml.Loader)

# Loads whatever checkpoint the config points at: a pickle can run code on load.
model = torch.load(CONFIG["checkpoint"])
tokenizer_extra = pickle.load(open(CONFIG["tokenizer_state"], "rb"))
hub_model = AutoModelForSequenceClassification.from_pretrained(CONFIG["hub_model"], trust_remote_code=True)

HF_TOKEN = "hf_" + "qXbVvJtLmKpRsTnWyZaBcDeFgHiJkLmNoP"


def predict(text: str) -> str:
    result = eval(model(text))  # the model returns a Python literal as text
    return str(result)


demo = gr.Interface(fn=predict, inputs="text", outputs="text")

if __name__ == "__main__":
    demo.launch(server_name="0.0.0.0", share=True)
    os.system("echo started")
