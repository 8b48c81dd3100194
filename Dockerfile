# Quizroom server image: the built client plus the TypeScript server run by tsx.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY client/package.json client/
COPY question-bank/package.json question-bank/
COPY tests/package.json tests/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV NODE_ENV=production PORT=3000
EXPOSE 3000
USER node
# SIGTERM from the orchestrator triggers a graceful shutdown (clients are told to reconnect).
CMD ["node_modules/.bin/tsx", "server/src/main.ts"]
