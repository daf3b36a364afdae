"""Models from code: save ``faq_model.py`` with an artifact and a config file, load, predict.

Run it from anywhere: ``python examples/models_from_code/run.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import modelport

HERE = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "faq-bot"
        manifest = modelport.save_model(
            path,
            python_model=HERE / "faq_model.py",  # a file that ends with set_model(...)
            artifacts={"faq": HERE / "faq.json"},
            model_config=HERE / "faq_config.yaml",
            input_example={
                "messages": [{"role": "user", "content": "What are your opening hours?"}]
            },
        )
        print("package files:")
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            print("  ", file.relative_to(path).as_posix())
        print("stored as code, not a pickle ->", "pickle" not in manifest.flavor_config)

        model = modelport.load_model(path)
        for question in (
            "Do you ship abroad? How long does shipping take?",
            "Can I get a refund?",
            "Do you sell gift cards?",
        ):
            response = model.predict({"messages": [{"role": "user", "content": question}]})
            print(f"Q: {question}\nA: {response['choices'][0]['message']['content']}")


if __name__ == "__main__":
    main()
