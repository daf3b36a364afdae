"""A generic PythonModel for the server tests: the length of each text, times ``scale``."""

from modelport import PythonModel, set_model


class Lengths(PythonModel):
    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1)
        return [len(text) * scale for text in model_input["text"]]

    def predict_stream(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1)
        for text in model_input["text"]:
            yield {"length": len(text) * scale}


set_model(Lengths())
