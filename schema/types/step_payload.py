"""A step's details, typed by its step type: `Step.details` is the union `StepDetails`.

One module for the union and its members, each a handful of fields: they are one concept
(what a step of each type carries), and ten 15-line modules would say less. Every member
reads the same row; `Step.payload` keeps the raw JSON for anything not modelled here.
"""

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from tracewire.db import models
from tracewire.db.enums import StepType
from tracewire.schema.types._values import inline


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if isinstance(payload, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@strawberry.type(description="A graph node or pipeline stage: what went in and came out.")
class NodeDetails:
    node: str = strawberry.field(description="The node's name.")
    input: JSON | None = strawberry.field(description="The node's input state.")
    output: JSON | None = strawberry.field(description="The node's output state.")


@strawberry.type(description="Input given to the agent or a node.")
class InputDetails:
    value: JSON | None = strawberry.field(description="The input.")


@strawberry.type(description="Output produced by the agent or a node.")
class OutputDetails:
    value: JSON | None = strawberry.field(description="The output.")


@strawberry.type(description="The agent's reasoning, as text.")
class ThoughtDetails:
    text: str | None = strawberry.field(description="The thought.")
    reasoning: str | None = strawberry.field(description="Longer reasoning, when recorded.")


@strawberry.type(description="A call to a tool, with its arguments and result.")
class ToolCallDetails:
    tool_name: str = strawberry.field(description="The tool called.")
    arguments: JSON | None = strawberry.field(description="What the tool was called with.")
    result: JSON | None = strawberry.field(description="What the tool returned, when it ended.")


@strawberry.type(description="A tool's result, recorded on its own.")
class ToolResultDetails:
    tool_name: str = strawberry.field(description="The tool that answered.")
    is_error: bool = strawberry.field(description="Whether the tool reported an error.")
    output: JSON | None = strawberry.field(description="The result.")


@strawberry.type(description="A call to a language model.")
class LlmCallDetails:
    model: str | None = strawberry.field(description="The model, e.g. gpt-4o-mini.")
    vendor: str | None = strawberry.field(description="Who serves it, e.g. openai.")
    prompt: JSON | None = strawberry.field(description="Messages or text sent.")
    completion: JSON | None = strawberry.field(description="What the model answered.")
    input_tokens: int | None = strawberry.field(description="Prompt tokens.")
    output_tokens: int | None = strawberry.field(description="Completion tokens.")
    cost: float | None = strawberry.field(description="In US dollars.")


@strawberry.type(description="A check of the agent's work.")
class ValidationDetails:
    check: str = strawberry.field(description="The check's name.")
    passed: bool | None = strawberry.field(description="Whether the check passed.")
    details: JSON | None = strawberry.field(description="What the check found.")


@strawberry.type(description="A new or revised plan.")
class PlanUpdateDetails:
    plan: JSON | None = strawberry.field(description="The plan, as recorded.")


@strawberry.type(description="An error the agent met (handled or not).")
class ErrorDetails:
    code: str | None = strawberry.field(description="E.g. the exception's class name.")
    message: str | None = strawberry.field(description="The error's message.")
    traceback: str | None = strawberry.field(description="The Python traceback, if any.")


@strawberry.type(description="A note the agent logged.")
class InfoDetails:
    message: str | None = strawberry.field(description="The message.")
    data: JSON | None = strawberry.field(description="Structured data logged with it.")


StepDetails = Annotated[
    NodeDetails
    | InputDetails
    | OutputDetails
    | ThoughtDetails
    | ToolCallDetails
    | ToolResultDetails
    | LlmCallDetails
    | ValidationDetails
    | PlanUpdateDetails
    | ErrorDetails
    | InfoDetails,
    strawberry.union("StepDetails", description="A step's details, by step type."),
]


def details_of(row: models.Step, *, full: bool) -> StepDetails:
    """The typed details of a step, read from its columns and payload; large JSON values are
    previews unless `full` (see `Step.truncated`)."""

    def v(value: Any) -> Any:
        return inline(value, full=full)

    payload = row.payload
    match StepType(row.type):
        case StepType.NODE:
            return NodeDetails(node=row.name, input=v(row.input), output=v(row.output))
        case StepType.INPUT:
            return InputDetails(value=v(row.input if row.input is not None else row.output))
        case StepType.OUTPUT:
            return OutputDetails(value=v(row.output if row.output is not None else row.input))
        case StepType.THOUGHT:
            return ThoughtDetails(
                text=_text(_get(payload, "text")), reasoning=_text(_get(payload, "reasoning"))
            )
        case StepType.TOOL_CALL:
            arguments = _get(payload, "arguments")
            return ToolCallDetails(
                tool_name=_text(_get(payload, "tool_name")) or row.name,
                arguments=v(arguments if arguments is not None else row.input),
                result=v(row.output),
            )
        case StepType.TOOL_RESULT:
            return ToolResultDetails(
                tool_name=_text(_get(payload, "tool_name")) or row.name,
                is_error=_get(payload, "is_error") is True,
                output=v(row.output),
            )
        case StepType.LLM_CALL:
            return LlmCallDetails(
                model=row.model,
                vendor=row.vendor,
                prompt=v(row.input),
                completion=v(row.output),
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                cost=float(row.cost) if row.cost is not None else None,
            )
        case StepType.VALIDATION:
            passed = _get(payload, "passed")
            return ValidationDetails(
                check=row.name,
                passed=passed if isinstance(passed, bool) else None,
                details=v(_get(payload, "details")),
            )
        case StepType.PLAN_UPDATE:
            return PlanUpdateDetails(plan=v(_get(payload, "plan")))
        case StepType.ERROR:
            return ErrorDetails(
                code=row.error_code, message=row.error_message, traceback=row.error_traceback
            )
        case StepType.INFO:
            return InfoDetails(
                message=_text(_get(payload, "message")), data=v(_get(payload, "data"))
            )
