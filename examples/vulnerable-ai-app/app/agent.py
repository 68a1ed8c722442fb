"""Ops assistant for the demo: an LLM agent that answers questions about the model server."""

import subprocess

import numpy as np
import requests
from langchain.agents import AgentType, initialize_agent
from langchain_experimental.tools import PythonREPLTool
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)

# The agent may write and run any Python it likes on this host.
agent = initialize_agent(
    [PythonREPLTool()],
    llm,
    agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION,
)


def restart_worker(question: str) -> str:
    reply = llm.invoke(f"Which worker should be restarted? {question}").content
    # The model's answer is pasted into a shell command line.
    subprocess.run(f"systemctl restart {reply}", shell=True, check=False)
    return reply


def fetch_metrics(url: str) -> dict:
    # Internal dashboard with a self-signed certificate, so checking was turned off.
    return requests.get(url, verify=False, timeout=10).json()


def load_embeddings(path: str) -> np.ndarray:
    return np.load(path, allow_pickle=True)


if __name__ == "__main__":
    print(agent.run("How many requests did the sentiment server handle today?"))
