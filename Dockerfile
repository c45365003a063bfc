# Image for web, worker and beat: the same code, a different command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=hrms.settings_production
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN SECRET_KEY=collectstatic FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput --verbosity 0
RUN useradd --create-home hrms
USER hrms
EXPOSE 8000
CMD ["gunicorn", "hrms.wsgi:application", "-c", "hrms/gunicorn.conf.py"]
