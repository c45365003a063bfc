"""Named API tokens: list, create (the key is shown once), revoke. Own tokens; an Admin any."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import ALL_OWNERS, api_token_get, api_token_list
from accounts.services.tokens import api_token_create, api_token_revoke
from core.fields import Text
from core.pagination import DefaultPagination
from core.query import query_validate

TOKEN_STATUSES = ("active", "expired", "revoked")


class ApiTokenOutputSerializer(serializers.Serializer[ApiToken]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the key.")
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    status = serializers.ChoiceField(choices=TOKEN_STATUSES)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiTokenListApi(APIView):
    pagination_class = DefaultPagination

    class ApiTokenListFilterSerializer(serializers.Serializer[dict[str, Any]]):
        user = serializers.IntegerField(
            required=False,
            min_value=-1,
            max_value=2**31 - 1,
            help_text="Admin only: another user's tokens, or -1 for everyone's. Others always see their own.",
        )

    class ApiTokenCreateInputSerializer(serializers.Serializer[dict[str, Any]]):
        name = Text(max_length=100)
        expires_in_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    class ApiTokenCreateOutputSerializer(ApiTokenOutputSerializer):
        key = serializers.CharField(help_text="The token itself: shown this once, never again.")

    @extend_schema(parameters=[ApiTokenListFilterSerializer], responses={200: ApiTokenOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = query_validate(self.ApiTokenListFilterSerializer, request)
        owner = filters.get("user")
        tokens = api_token_list(user=request.user, owner_id=ALL_OWNERS if owner == -1 else owner)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tokens, request, view=self)
        return paginator.get_paginated_response(ApiTokenOutputSerializer(cast(Any, page), many=True).data)

    @extend_schema(request=ApiTokenCreateInputSerializer, responses={201: ApiTokenCreateOutputSerializer})
    def post(self, request: Request) -> Response:
        """A new token for the caller, valid `expires_in_days` (default 90). The key is in this answer only."""
        data = self.ApiTokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_token_create(actor=request.user, user=cast(User, request.user), **data.validated_data)
        issued.token.user = cast(User, request.user)
        body = {**ApiTokenOutputSerializer(issued.token).data, "key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    @extend_schema(request=None, responses={200: ApiTokenOutputSerializer})
    def post(self, request: Request, token_id: str) -> Response:
        """The token stops working in every process within a second; 409 when already revoked."""
        token = api_token_revoke(actor=request.user, token=api_token_get(token_id=token_id, user=request.user))
        return Response(ApiTokenOutputSerializer(api_token_get(token_id=token.id, user=request.user)).data)
